//! The arithmetic of a Firehose-style buffer: given records per second and their size, which hint cuts the
//! objects (size or interval), how often, and how big they are.
//!
//! The writer publishes when the buffer reaches `size` (checked after each record, so an object ends with the
//! record that crosses it) or when its oldest record is `interval` old, whichever comes first.

/// Records arriving at a destination.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    /// Records per second.
    pub records_per_sec: f64,
    /// Bytes per record as buffered (delimiter included).
    pub record_bytes: f64,
}

impl Flow {
    /// Bytes per second.
    pub fn bytes_per_sec(self) -> f64 {
        self.records_per_sec * self.record_bytes
    }
}

/// Which hint cuts the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The buffer fills before the interval passes.
    Size,
    /// The interval passes first.
    Interval,
    /// `interval: 0s`: every delivery is published at once.
    EveryDelivery,
}

/// The objects a buffer writes at a steady flow.
#[derive(Debug, Clone, Copy)]
pub struct Objects {
    /// The hint that cuts them.
    pub trigger: Trigger,
    /// Seconds between objects.
    pub period: f64,
    /// Bytes per object (before compression).
    pub bytes: f64,
    /// Records per object.
    pub records: f64,
    /// How long the size hint takes to fill.
    pub fill_time: f64,
}

impl Objects {
    /// Objects per hour.
    pub fn per_hour(self) -> f64 {
        3600.0 / self.period
    }
}

/// The objects of `flow` through a buffer of `size` bytes and `interval` seconds; `None` when nothing flows.
pub fn objects(flow: Flow, size: f64, interval: f64) -> Option<Objects> {
    if flow.records_per_sec <= 0.0 || flow.record_bytes <= 0.0 {
        return None;
    }
    // The object ends with the record that reaches `size`.
    let records_to_fill = (size / flow.record_bytes).ceil().max(1.0);
    let fill_time = records_to_fill / flow.records_per_sec;
    let (trigger, period) = if interval <= 0.0 {
        (Trigger::EveryDelivery, 1.0 / flow.records_per_sec)
    } else if fill_time <= interval {
        (Trigger::Size, fill_time)
    } else {
        (Trigger::Interval, interval)
    };
    let records = match trigger {
        Trigger::Size => records_to_fill,
        Trigger::Interval => flow.records_per_sec * interval,
        Trigger::EveryDelivery => 1.0,
    };
    Some(Objects { trigger, period, bytes: records * flow.record_bytes, records, fill_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1_048_576.0;

    #[test]
    fn a_fast_flow_fills_the_buffer_first() {
        let flow = Flow { records_per_sec: 10_000.0, record_bytes: 1024.0 };
        let objects = objects(flow, MIB, 60.0).expect("flows");
        assert_eq!(objects.trigger, Trigger::Size);
        assert!((objects.period - 0.1024).abs() < 1e-9);
        assert_eq!(objects.bytes, MIB);
        assert!((objects.per_hour() - 3600.0 / 0.1024).abs() < 1e-6);
    }

    #[test]
    fn a_slow_flow_waits_for_the_interval() {
        let flow = Flow { records_per_sec: 10.0, record_bytes: 101.0 };
        let objects = objects(flow, MIB, 60.0).expect("flows");
        assert_eq!(objects.trigger, Trigger::Interval);
        assert_eq!(objects.period, 60.0);
        assert_eq!(objects.bytes, 60_600.0);
        assert_eq!(objects.per_hour(), 60.0);
    }

    #[test]
    fn zero_interval_publishes_every_delivery_and_nothing_flowing_writes_nothing() {
        let flow = Flow { records_per_sec: 4.0, record_bytes: 10.0 };
        assert_eq!(objects(flow, MIB, 0.0).map(|o| o.trigger), Some(Trigger::EveryDelivery));
        assert!(objects(Flow { records_per_sec: 0.0, record_bytes: 10.0 }, MIB, 60.0).is_none());
    }
}
