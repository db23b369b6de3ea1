//! Tumbling windows: which GROUP BY expression is the window on ROWTIME, and which window a ROWTIME falls in.
//!
//! ```text
//!   GROUP BY ..., STEP(s.ROWTIME BY INTERVAL '60' SECOND)          ─┐
//!                 FLOOR(s.ROWTIME TO MINUTE)                        ├─▶ Tumble ──bounds(rowtime)──▶ [start, end)
//!                 FLOOR((s.ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)
//!                 s.ROWTIME                                        ─┘
//! ```
//!
//! A window is emitted when it closes, with ROWTIME = its end ([DG] stagger-window-concepts.md: the rows at
//! 11:00:20 and 11:00:30 of a one-minute window come out at 11:01:00). Computing the window from ROWTIME with
//! integer arithmetic, rather than evaluating the expression per row, keeps the hot path cheap; the expression
//! itself is evaluated once per group, when a select item shows it.

use crate::ast::{Expr, Literal};
use crate::functions::datetime::{add_unit, floor_ms};
use crate::operator::{BinaryOp, TimeUnit};

/// The windows of a tumbling GROUP BY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tumble {
    /// Windows of `width` milliseconds, one starting at `offset` (STEP and FLOOR count from the epoch).
    Fixed {
        /// The width in milliseconds (at least 1).
        width: i64,
        /// A window boundary.
        offset: i64,
    },
    /// Calendar months or years (`FLOOR(s.ROWTIME TO MONTH)`), which differ in length.
    Calendar(TimeUnit),
}

/// What a GROUP BY expression is, seen as a window.
#[derive(Debug, PartialEq)]
pub(crate) enum Recognized {
    /// A tumbling window on ROWTIME.
    Window(Tumble),
    /// An expression of ROWTIME sluice cannot yet use as a window: what to say.
    Unsupported(String),
    /// Not a window.
    NotAWindow,
}

impl Tumble {
    /// The window `[start, end)` that holds `rowtime`.
    pub fn bounds(self, rowtime: i64) -> (i64, i64) {
        match self {
            Tumble::Fixed { width, offset } => {
                let start = offset.saturating_add(rowtime.saturating_sub(offset).div_euclid(width) * width);
                (start, start.saturating_add(width))
            }
            Tumble::Calendar(unit) => {
                let start = floor_ms(rowtime, unit);
                (start, add_unit(start, unit))
            }
        }
    }

    /// How long a window lasts (calendar windows: the longest), to choose the finest of several.
    pub fn width(self) -> i64 {
        match self {
            Tumble::Fixed { width, .. } => width,
            Tumble::Calendar(TimeUnit::Month) => 31 * 86_400_000,
            Tumble::Calendar(_) => 366 * 86_400_000,
        }
    }

    /// Reads `expr` as a window; `is_rowtime` tells whether an expression is the source's ROWTIME.
    pub fn recognize(expr: &Expr, is_rowtime: &dyn Fn(&Expr) -> bool) -> Recognized {
        if is_rowtime(expr) {
            return Recognized::Window(Tumble::Fixed { width: 1, offset: 0 });
        }
        let Expr::Function { name, args, over: None, .. } = expr else { return Recognized::NotAWindow };
        match (name.name.as_str(), args.as_slice()) {
            ("STEP", [time, by]) if is_rowtime(time) => match by {
                Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. } if *millis > 0 => {
                    Recognized::Window(Tumble::Fixed { width: *millis, offset: 0 })
                }
                Expr::Literal { value: Literal::IntervalDayTime { .. }, .. } => {
                    Recognized::Unsupported("a STEP window needs a positive interval".into())
                }
                _ => Recognized::Unsupported(
                    "a STEP window of months or years, or of a width that is not a literal".into(),
                ),
            },
            ("FLOOR_TO", [inner, unit]) => {
                let Some(unit) = unit_literal(unit) else { return Recognized::NotAWindow };
                if is_rowtime(inner) {
                    return Recognized::Window(match unit {
                        TimeUnit::Month | TimeUnit::Year => Tumble::Calendar(unit),
                        unit => Tumble::Fixed { width: add_unit(0, unit), offset: 0 },
                    });
                }
                epoch_arithmetic(inner, unit, is_rowtime)
            }
            _ => Recognized::NotAWindow,
        }
    }
}

/// The console template `FLOOR((s.ROWTIME - TIMESTAMP 't0') unit / n TO unit)`: windows of n units from t0.
fn epoch_arithmetic(inner: &Expr, unit: TimeUnit, is_rowtime: &dyn Fn(&Expr) -> bool) -> Recognized {
    let (difference, n) = match inner {
        Expr::Binary { left, op: BinaryOp::Divide, right, .. } => match &**right {
            Expr::Literal { value: Literal::Integer(n), .. } if *n > 0 => (&**left, *n),
            _ => return Recognized::NotAWindow,
        },
        other => (other, 1),
    };
    let Expr::DatetimeMinus { left, right, leading, trailing: None, .. } = difference else {
        return Recognized::NotAWindow;
    };
    let Expr::Literal { value: Literal::Timestamp(t0), .. } = &**right else { return Recognized::NotAWindow };
    if !is_rowtime(left) {
        return Recognized::NotAWindow;
    }
    if *leading != unit || matches!(unit, TimeUnit::Month | TimeUnit::Year | TimeUnit::Millisecond) {
        let message = "a window of (ROWTIME - TIMESTAMP ...) in one unit floored to another";
        return Recognized::Unsupported(message.into());
    }
    match add_unit(0, unit).checked_mul(n) {
        Some(width) => Recognized::Window(Tumble::Fixed { width, offset: *t0 }),
        None => Recognized::Unsupported("a window too wide".into()),
    }
}

/// A time unit given as the parser writes it for `FLOOR(x TO unit)`: a string literal.
fn unit_literal(expr: &Expr) -> Option<TimeUnit> {
    match expr {
        Expr::Literal { value: Literal::String(unit), .. } => TimeUnit::from_keyword(unit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{SelectItem, Statement};
    use crate::literal::parse_timestamp;

    /// The first select item of `SELECT STREAM <item> FROM s`, recognized with `ROWTIME`/`s.ROWTIME` as ROWTIME.
    fn recognize(item: &str) -> Recognized {
        let sql = format!("CREATE PUMP p AS INSERT INTO o SELECT STREAM {item} FROM s;");
        let statements = crate::parser::parse(&sql).expect("parses");
        let Statement::CreatePump(pump) = &statements[0] else { panic!("a pump") };
        let crate::ast::Query::Select(select) = &pump.insert.query else { panic!("a select") };
        let SelectItem::Expr { expr, .. } = &select.items[0] else { panic!("an expression") };
        let is_rowtime =
            |e: &Expr| matches!(e, Expr::Column { parts, .. } if parts.last().is_some_and(|p| p.name == "ROWTIME"));
        Tumble::recognize(expr, &is_rowtime)
    }

    fn fixed(width: i64, offset: i64) -> Recognized {
        Recognized::Window(Tumble::Fixed { width, offset })
    }

    #[test]
    fn the_window_forms_of_kda_applications() {
        assert_eq!(recognize("STEP(s.ROWTIME BY INTERVAL '60' SECOND)"), fixed(60_000, 0));
        assert_eq!(recognize("STEP(ROWTIME BY INTERVAL '1' HOUR)"), fixed(3_600_000, 0));
        assert_eq!(recognize("FLOOR(s.ROWTIME TO MINUTE)"), fixed(60_000, 0));
        assert_eq!(recognize("FLOOR(ROWTIME TO MONTH)"), Recognized::Window(Tumble::Calendar(TimeUnit::Month)));
        assert_eq!(
            recognize("FLOOR((s.ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)"),
            fixed(10_000, 0)
        );
        assert_eq!(
            recognize("FLOOR((ROWTIME - TIMESTAMP '1970-01-01 00:00:00') minute / 1 TO MINUTE)"),
            fixed(60_000, 0)
        );
        assert_eq!(recognize("s.ROWTIME"), fixed(1, 0));
        assert_eq!(recognize("STEP(x BY INTERVAL '1' MINUTE)"), Recognized::NotAWindow);
        assert_eq!(recognize("FLOOR(x TO MINUTE)"), Recognized::NotAWindow);
        assert!(matches!(recognize("STEP(ROWTIME BY INTERVAL '1' MONTH)"), Recognized::Unsupported(_)));
        assert!(matches!(
            recognize("FLOOR((ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO MINUTE)"),
            Recognized::Unsupported(_)
        ));
    }

    #[test]
    fn bounds_floor_from_the_offset_and_end_one_window_later() {
        let t = |s: &str| parse_timestamp(s).expect("a timestamp");
        let minute = Tumble::Fixed { width: 60_000, offset: 0 };
        assert_eq!(minute.bounds(t("2020-07-01 11:00:20")), (t("2020-07-01 11:00:00"), t("2020-07-01 11:01:00")));
        assert_eq!(minute.bounds(t("2020-07-01 11:01:00")).0, t("2020-07-01 11:01:00"), "the end opens the next");
        assert_eq!(minute.bounds(-1), (-60_000, 0));
        let shifted = Tumble::Fixed { width: 10_000, offset: 3_000 };
        assert_eq!(shifted.bounds(2_999), (-7_000, 3_000));
        let month = Tumble::Calendar(TimeUnit::Month);
        assert_eq!(month.bounds(t("2020-02-15 00:00:00")), (t("2020-02-01 00:00:00"), t("2020-03-01 00:00:00")));
    }
}
