//! Stateful operators: the stages that hold rows between calls and decide themselves when to emit, behind one
//! interface — stagger windows ([`super::stagger`]) and the table functions of `FROM TABLE(F(CURSOR(...), ...))`
//! ([`super::analytics`]: TOP_K_ITEMS_TUMBLING, COUNT_DISTINCT_ITEMS_TUMBLING, RANDOM_CUT_FOREST, HOTSPOTS,
//! GROUP_RANK).
//!
//! ```text
//!   row ──Operator::push──▶ state (per runner, Box<dyn Any>) ──rows to emit now──▶ the pump's next stages
//!   clock ──Operator::close(until)──▶ windows that end by then ──rows──▶ the pump's next stages
//!   end of input ──Operator::close(None)──▶ every held row
//! ```
//!
//! The operator itself is compiled once and shared by every runner (it is part of the [`super::Program`]); its
//! state lives in the runner, created by [`Operator::start`], so one program runs on several workers. An
//! operator emits rows in ROWTIME order; rows it emits on the clock carry a ROWTIME no later than the clock.

use std::any::Any;

use crate::functions::EvalContext;

use super::eval::RowRef;
use super::{Emit, Failure, Program, Row, Runner, Stage};

/// What a stateful operator emits: rows (in ROWTIME order) and failures (message, the failing data as text).
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    /// Rows for the pump's next stages.
    pub rows: Vec<Row>,
    /// Rows or groups that failed: ERROR_NAME, message, ROWTIME, the data as text.
    pub failures: Vec<(&'static str, String, i64, String)>,
}

/// A stage that keeps state between rows: compiled once, its per-runner state made by [`Operator::start`].
pub(crate) trait Operator: std::fmt::Debug + Send + Sync {
    /// A fresh state for one runner.
    fn start(&self) -> Box<dyn Any + Send>;

    /// One row arrives: rows due before it (windows it closes) and rows it yields at once go to `out`.
    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, cx: &EvalContext, out: &mut Emitted);

    /// Emits what is due by `until` (`None`: the end of input, everything held).
    fn close(&self, state: &mut dyn Any, until: Option<i64>, cx: &mut EvalContext, out: &mut Emitted);

    /// The earliest time at which something held becomes due on the clock, if any.
    fn next_due(&self, state: &dyn Any) -> Option<i64>;

    /// How many groups, windows or partitions the state holds (the `window_groups` metric).
    fn held(&self, state: &dyn Any) -> usize;

    /// Whether the operator drops rows (a WHERE, a HAVING), for pictures of the application.
    fn filters(&self) -> bool {
        false
    }
}

/// A stateful operator in a pump, with its state's index in the runner.
#[derive(Debug)]
pub(crate) struct OperatorStage {
    /// The operator.
    pub op: Box<dyn Operator>,
    /// Whether the clock closes its windows: its ROWTIME is the input's (no `AS ROWTIME` on the way).
    pub clock: bool,
    /// Its state's index in the runner.
    pub state: usize,
}

impl OperatorStage {
    /// A stage for `op`; [`super::plan`] numbers it once every pump is known.
    pub fn new(op: Box<dyn Operator>) -> OperatorStage {
        OperatorStage { op, clock: false, state: 0 }
    }
}

impl Runner<'_> {
    /// A row reaching operator stage `position` of pump `index`: what it emits goes on from the next stage.
    pub(super) fn operate(
        &mut self,
        index: usize,
        position: usize,
        stage: &OperatorStage,
        row: &RowRef<'_>,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        let mut emitted = Emitted::default();
        stage.op.push(self.operators[stage.state].as_mut(), row, &self.cx, &mut emitted);
        self.emit_operated(index, position, emitted, out);
    }

    /// Closes what operator stage `position` of pump `index` holds up to `until` (None: everything).
    pub(super) fn close_operator(
        &mut self,
        index: usize,
        position: usize,
        stage: &OperatorStage,
        until: Option<i64>,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        let mut emitted = Emitted::default();
        stage.op.close(self.operators[stage.state].as_mut(), until, &mut self.cx, &mut emitted);
        self.emit_operated(index, position, emitted, out);
    }

    fn emit_operated(&mut self, index: usize, position: usize, emitted: Emitted, out: &mut dyn FnMut(Emit<'_>)) {
        let program = self.program;
        let pump = &program.pumps[index];
        for (name, message, rowtime, data) in emitted.failures {
            out(Emit::Failure(Failure { name, message, rowtime, data, pump: Some(pump.name.clone()) }));
        }
        for row in emitted.rows {
            let describe = || format!("{:?}", row.values);
            self.run(index, position + 1, &row.values, row.rowtime, &describe, out);
        }
    }
}

impl Program {
    /// A fresh state for every operator stage, at its index.
    pub(super) fn operator_starts(&self) -> Vec<Box<dyn Any + Send>> {
        let mut states: Vec<Option<Box<dyn Any + Send>>> = (0..self.operator_states).map(|_| None).collect();
        for stage in self.pumps.iter().flat_map(|p| &p.stages) {
            if let Stage::Operator(operator) = stage
                && let Some(slot) = states.get_mut(operator.state)
            {
                *slot = Some(operator.op.start());
            }
        }
        states.into_iter().map(|s| s.unwrap_or_else(|| Box::new(()))).collect()
    }
}

impl Runner<'_> {
    /// The groups, windows and partitions the operator stages hold.
    pub(super) fn operators_held(&self) -> usize {
        let program = self.program;
        program
            .pumps
            .iter()
            .flat_map(|p| &p.stages)
            .map(|stage| match stage {
                Stage::Operator(operator) => operator.op.held(self.operators[operator.state].as_ref()),
                _ => 0,
            })
            .sum()
    }
}
