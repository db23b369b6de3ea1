//! `--rate`: records per period, written `1000/s`, `90000/m`, `2.5/s` or `500/10s`. The period reuses
//! core's [`Duration`] (`s`, `m`, `h`, `d`, or a whole duration such as `10s`).

use std::fmt;
use std::str::FromStr;

use sluice_core::units::Duration;

/// A record rate, in records per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

impl Rate {
    /// Records per second.
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid rate `{text}`: expected records per period, such as `1000/s`, `60000/m` or `5/10s`");
        let (count, period) = text.split_once('/').ok_or_else(bad)?;
        let count: f64 = count.parse().map_err(|_| bad())?;
        // `s` alone means one second: core's durations need a number.
        let period =
            if period.starts_with(|c: char| c.is_ascii_digit()) { period.to_owned() } else { format!("1{period}") };
        let period = period.parse::<Duration>().map_err(|_| bad())?.as_std().as_secs_f64();
        if !count.is_finite() || count <= 0.0 || period <= 0.0 {
            return Err(format!("invalid rate `{text}`: the rate must be above zero"));
        }
        Ok(Rate(count / period))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", super::human::count(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::Rate;

    #[test]
    fn rates_parse_per_period() {
        let per_sec = |t: &str| t.parse::<Rate>().map(Rate::per_sec);
        assert_eq!(per_sec("1000/s"), Ok(1000.0));
        assert_eq!(per_sec("60000/m"), Ok(1000.0));
        assert_eq!(per_sec("5/10s"), Ok(0.5));
        assert_eq!(per_sec("2.5/s"), Ok(2.5));
        assert_eq!(per_sec("3600/h"), Ok(1.0));
        for bad in ["1000", "/s", "1000/", "fast/s", "1000/sec", "0/s", "-1/s", "1/0s", "NaN/s", "inf/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} parsed");
        }
    }
}
