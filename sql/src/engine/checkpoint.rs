//! What a restart needs from the runner's windows: which input they still hold, and which windows were emitted.
//!
//! ```text
//!   caller ──set_input_mark(n) per record──▶ a GROUP BY window opening remembers n (its oldest input)
//!   held_since() = least mark over open windows ──▶ the input before it may be checkpointed
//!   window_marks() = per GROUP BY stage, the end of its last emitted window ──▶ stored with the checkpoint
//!   restore_windows(marks) after a restart ──▶ rows of emitted windows, read again, are dropped quietly;
//!                                              input rows get at least the earliest mark as ROWTIME
//! ```
//!
//! The input after a checkpoint is read again after a crash, so windows open at the checkpoint are rebuilt
//! from their rows instead of being emitted short. Only tumbling GROUP BY windows take part: the state of
//! stagger windows, table functions, sliding windows and joins is not held back (see docs/reliability.md).
//! Marks cost one store per input record and one per window opened.

use super::{Runner, Stage};

impl Runner<'_> {
    /// The input record being pushed next (a number that grows with the input): a window opened by its rows
    /// holds it until the window closes.
    #[inline]
    pub fn set_input_mark(&mut self, mark: u64) {
        self.input_mark = mark;
    }

    /// The mark of the oldest input record an open GROUP BY window holds: input from there on must be read
    /// again to rebuild the open windows. `None`: no window is open.
    pub fn held_since(&self) -> Option<u64> {
        self.windows.iter().filter(|w| w.open.is_some()).map(|w| w.first_mark).min()
    }

    /// The marks of every open GROUP BY window, oldest first: where each window's input starts.
    pub fn open_window_marks(&self) -> impl Iterator<Item = u64> + '_ {
        self.windows.iter().filter(|w| w.open.is_some()).map(|w| w.first_mark)
    }

    /// Per GROUP BY stage, a name that stays the same across runs of the same SQL (`<pump>/<stage position>`)
    /// and the end of the last window it emitted (stages that emitted none are left out).
    pub fn window_marks(&self) -> Vec<(String, i64)> {
        let program = self.program;
        let mut marks = Vec::new();
        for pump in &program.pumps {
            for (position, stage) in pump.stages.iter().enumerate() {
                if let Stage::Aggregate(aggregate) = stage {
                    let emitted = self.windows[aggregate.state].closed_until;
                    if emitted != i64::MIN {
                        marks.push((format!("{}/{}", pump.name, position), emitted));
                    }
                }
            }
        }
        marks
    }

    /// After a restart: `marks` ([`Runner::window_marks`] as stored with the checkpoint) tell each GROUP BY
    /// stage which windows it emitted before. Rows of those windows that are read again are dropped, and
    /// input rows get at least the earliest mark of a stage the clock closes as ROWTIME, so a row the clock had
    /// pushed into an open window does not fall back into one already emitted. Unknown names are ignored.
    pub fn restore_windows(&mut self, marks: &[(String, i64)]) {
        let program = self.program;
        // The floor: the least mark of the stages the clock closes; none if one of them has no mark (its open
        // window may start before every mark).
        let mut floor: Option<i64> = None;
        let mut unmarked = false;
        for pump in &program.pumps {
            for (position, stage) in pump.stages.iter().enumerate() {
                let Stage::Aggregate(aggregate) = stage else { continue };
                let name = format!("{}/{}", pump.name, position);
                let Some(&(_, emitted)) = marks.iter().find(|(n, _)| *n == name) else {
                    unmarked |= aggregate.clock;
                    continue;
                };
                let state = &mut self.windows[aggregate.state];
                state.closed_until = state.closed_until.max(emitted);
                state.replayed_until = state.closed_until;
                if aggregate.clock {
                    floor = Some(floor.map_or(emitted, |f| f.min(emitted)));
                }
            }
        }
        if let Some(floor) = floor
            && !unmarked
        {
            self.clock = self.clock.max(floor);
        }
    }
}

impl super::Program {
    /// Whether a pump groups rows in tumbling GROUP BY windows (whose input is held back from checkpoints).
    pub fn has_group_windows(&self) -> bool {
        self.window_states > 0
    }

    /// Whether rows of `stream` may come out of a GROUP BY window, directly or through other in-app streams:
    /// an output of it acknowledges only input no open window holds.
    pub fn fed_by_group_windows(&self, stream: super::StreamId) -> bool {
        let mut fed = vec![false; self.streams.len()];
        // Pumps in dependency order: a stream's writers come before its readers.
        for &index in &self.pump_order {
            let pump = &self.pumps[index];
            let windowed = pump.stages.iter().any(|stage| match stage {
                Stage::Aggregate(_) => true,
                Stage::Join(join) => matches!(join.right, super::join::Right::Stream { stream, .. } if fed[stream.0]),
                _ => false,
            });
            if fed[pump.source.0] || windowed {
                fed[pump.target.0] = true;
            }
        }
        fed[stream.0]
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Emit, Program, Row, StreamDef};
    use crate::types::SqlType;
    use crate::value::Value;

    const SQL: &str = r#"
        CREATE OR REPLACE STREAM "PER_SECOND" ("n" BIGINT);
        CREATE OR REPLACE STREAM "PER_TEN" ("n" BIGINT);
        CREATE OR REPLACE STREAM "RAW" ("id" INTEGER);
        CREATE OR REPLACE PUMP "P" AS INSERT INTO "PER_SECOND"
            SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001"
            GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);
        CREATE OR REPLACE PUMP "Q" AS INSERT INTO "PER_TEN"
            SELECT STREAM SUM("n") FROM "PER_SECOND" GROUP BY STEP("PER_SECOND".ROWTIME BY INTERVAL '10' SECOND);
        CREATE OR REPLACE PUMP "R" AS INSERT INTO "RAW" SELECT STREAM "id" FROM "SOURCE_SQL_STREAM_001";"#;

    fn program() -> Program {
        let input = StreamDef { name: "SOURCE_SQL_STREAM_001".into(), columns: vec![("id".into(), SqlType::Integer)] };
        Program::compile(SQL, input).expect("compiles")
    }

    /// Pushes rows at `rowtimes` with marks from `first_mark`; the counts `PER_SECOND` emits.
    fn push(runner: &mut super::Runner<'_>, program: &Program, first_mark: u64, rowtimes: &[i64]) -> Vec<Value> {
        let per_second = program.stream("PER_SECOND").expect("stream");
        let mut counts = Vec::new();
        for (offset, &rowtime) in rowtimes.iter().enumerate() {
            runner.set_input_mark(first_mark + offset as u64);
            runner.push(Row { rowtime, values: vec![Value::Int(1)] }, &mut |emitted| {
                if let Emit::Row(stream, row) = emitted
                    && stream == per_second
                {
                    counts.push(row.values[0].clone());
                }
            });
        }
        counts
    }

    #[test]
    fn open_windows_hold_their_oldest_input_and_cascades_hold_their_upstream_input() {
        let program = program();
        let mut runner = program.runner_at(0);
        assert_eq!(runner.held_since(), None);
        push(&mut runner, &program, 0, &[1_000, 1_500]);
        assert_eq!(runner.held_since(), Some(0), "the first second's window holds record 0");
        push(&mut runner, &program, 2, &[2_100]);
        // The first second closed; its row went into the ten-second window, which holds record 0 still.
        assert_eq!(runner.held_since(), Some(0));
        assert_eq!(runner.window_marks(), [("P/0".to_owned(), 2_000)]);
        assert!(program.fed_by_group_windows(program.stream("PER_TEN").expect("stream")));
        assert!(!program.fed_by_group_windows(program.stream("RAW").expect("stream")));
    }

    #[test]
    fn a_restored_runner_drops_rows_of_emitted_windows_and_floors_rowtime() {
        let program = program();
        let mut runner = program.runner_at(0);
        runner.restore_windows(&[("P/0".to_owned(), 10_000), ("Q/0".to_owned(), 10_000), ("gone/3".to_owned(), 9)]);
        // Input rows get at least 10_000 as ROWTIME: 9_999 (the clock had moved it past 10_000 before the restart)
        // counts in the open second.
        let counts = push(&mut runner, &program, 0, &[9_999, 10_500, 11_100]);
        assert_eq!(counts, [Value::Int(2)], "the second from 10_000: the floored row and 10_500");
        // Rows of an emitted window reaching a stage (here Q, whose input the floor does not move) are dropped
        // quietly, with no Out_Of_Order_Rowtime error.
        let mut unmarked = program.runner_at(0);
        unmarked.restore_windows(&[("P/0".to_owned(), 0), ("Q/0".to_owned(), 20_000)]);
        let mut failures = 0;
        let mut per_ten = Vec::new();
        let ten = program.stream("PER_TEN").expect("stream");
        for (mark, rowtime) in [(0, 12_000), (1, 15_000), (2, 21_000)] {
            unmarked.set_input_mark(mark);
            unmarked.push(Row { rowtime, values: vec![Value::Int(1)] }, &mut |emitted| match emitted {
                Emit::Failure(_) => failures += 1,
                Emit::Row(stream, row) if stream == ten => per_ten.push(row.rowtime),
                Emit::Row(..) => {}
            });
        }
        unmarked.finish(&mut |emitted| match emitted {
            Emit::Failure(_) => failures += 1,
            Emit::Row(stream, row) if stream == ten => per_ten.push(row.rowtime),
            Emit::Row(..) => {}
        });
        assert_eq!((failures, per_ten), (0, vec![30_000]), "only the ten seconds from 20_000 come out");
    }
}
