//! `HOTSPOTS(CURSOR(...), windowSize, scanRadius, minimumNumberOfPointsInAHotspot)` ([SQLREF] sqlrf-hotspots):
//! the dense regions among the last `windowSize` rows, reported with every row.
//!
//! ```text
//!   row ─numeric columns─▶ point ─▶ window (the last windowSize points, 100..1000)
//!                                     │ DBSCAN (eps = scanRadius, minPts = minimumNumberOfPointsInAHotspot)
//!                                     ▼
//!   the row + HOTSPOTS_RESULT = {"hotspots":[{"density":d,"minValues":[..],"maxValues":[..]},...]}, densest first
//! ```
//!
//! The reference describes scanRadius as DBSCAN's epsilon: a hotspot here is a DBSCAN cluster (core points have
//! at least minPts points, themselves included, within scanRadius; clusters are core points linked by
//! neighbourhood, with their border points) of at least minPts points. Its box is the per-column minimum and
//! maximum of its points; its density (sluice's definition, UNCONFIRMED) is the share of the window's points it
//! holds over the share of the window's box it covers, each side widened by scanRadius so a point-sized box has
//! a size: how many times denser than the window as a whole. Only numeric columns count (NULL as 0), as the
//! reference says; the others pass through. Each row costs O(windowSize²) distance tests.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt::Write as _;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

use super::super::Row;
use super::super::eval::RowRef;
use super::super::plan::type_error;
use super::super::stateful::{Emitted, Operator};
use super::{Built, Params};

#[derive(Debug)]
struct Hotspots {
    numeric: Vec<usize>,
    window: usize,
    radius: f64,
    min_points: usize,
}

/// Checks the arguments and builds the operator.
pub(super) fn build(params: &Params<'_>, columns: &[(String, SqlType)]) -> Result<Built, SqlError> {
    params.count(3, 3, "a cursor, windowSize, scanRadius and minimumNumberOfPointsInAHotspot")?;
    let window = params.int(0, "windowSize", None, (100, 1_000))? as usize;
    let radius = params.number(1, "scanRadius")?;
    let min_points = params.int(2, "minimumNumberOfPointsInAHotspot", None, (2, 1_000))? as usize;
    let numeric: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].1.is_numeric()).collect();
    if numeric.is_empty() {
        return Err(type_error(params.span(), format!("{} needs a numeric column in its cursor", params.function())));
    }
    let mut out = columns.to_vec();
    out.push(("HOTSPOTS_RESULT".to_owned(), SqlType::Varchar(20_480)));
    Ok((Box::new(Hotspots { numeric, window, radius, min_points }), out))
}

/// One hotspot: its points' box and its relative density.
#[derive(Debug, PartialEq)]
pub(crate) struct Hotspot {
    pub density: f64,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

/// DBSCAN over `points`: the clusters of at least `min_points` points, densest first.
pub(crate) fn find(points: &[Vec<f64>], radius: f64, min_points: usize) -> Vec<Hotspot> {
    let n = points.len();
    if n == 0 {
        return Vec::new();
    }
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() <= radius * radius;
    let neighbours: Vec<Vec<usize>> =
        (0..n).map(|i| (0..n).filter(|&j| close(&points[i], &points[j])).collect()).collect();
    let core: Vec<bool> = neighbours.iter().map(|near| near.len() >= min_points).collect();
    let mut cluster = vec![usize::MAX; n];
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if !core[start] || cluster[start] != usize::MAX {
            continue;
        }
        let id = clusters.len();
        let mut members = Vec::new();
        let mut stack = vec![start];
        cluster[start] = id;
        while let Some(p) = stack.pop() {
            members.push(p);
            if !core[p] {
                continue;
            }
            for &q in &neighbours[p] {
                if cluster[q] == usize::MAX {
                    cluster[q] = id;
                    stack.push(q);
                }
            }
        }
        clusters.push(members);
    }
    let dims = points[0].len();
    let bounds = |members: &mut dyn Iterator<Item = usize>| {
        let (mut lo, mut hi) = (vec![f64::INFINITY; dims], vec![f64::NEG_INFINITY; dims]);
        for p in members {
            for d in 0..dims {
                lo[d] = lo[d].min(points[p][d]);
                hi[d] = hi[d].max(points[p][d]);
            }
        }
        (lo, hi)
    };
    let volume = |lo: &[f64], hi: &[f64]| lo.iter().zip(hi).map(|(l, h)| h - l + radius).product::<f64>();
    let (all_lo, all_hi) = bounds(&mut (0..n));
    let all_volume = volume(&all_lo, &all_hi);
    let mut found: Vec<Hotspot> = clusters
        .into_iter()
        .filter(|members| members.len() >= min_points)
        .map(|members| {
            let (min, max) = bounds(&mut members.iter().copied());
            let share = members.len() as f64 / n as f64;
            let space = volume(&min, &max) / all_volume;
            Hotspot { density: if space > 0.0 { share / space } else { 0.0 }, min, max }
        })
        .collect();
    found.sort_by(|a, b| b.density.total_cmp(&a.density));
    found
}

/// `{"hotspots":[{"density":..,"minValues":[..],"maxValues":[..]},..]}`.
fn json(hotspots: &[Hotspot]) -> String {
    let number = |x: f64, out: &mut String| {
        if x.is_finite() {
            let _ = write!(out, "{x}");
        } else {
            out.push('0');
        }
    };
    let list = |values: &[f64], out: &mut String| {
        out.push('[');
        for (i, x) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            number(*x, out);
        }
        out.push(']');
    };
    let mut out = String::from("{\"hotspots\":[");
    for (i, h) in hotspots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"density\":");
        number(h.density, &mut out);
        out.push_str(",\"minValues\":");
        list(&h.min, &mut out);
        out.push_str(",\"maxValues\":");
        list(&h.max, &mut out);
        out.push('}');
    }
    out.push_str("]}");
    out
}

impl Operator for Hotspots {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(VecDeque::<Vec<f64>>::new())
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, _cx: &EvalContext, out: &mut Emitted) {
        let Some(window) = state.downcast_mut::<VecDeque<Vec<f64>>>() else { return };
        let point = self.numeric.iter().map(|&i| row.values.get(i).and_then(ops::to_f64).unwrap_or(0.0)).collect();
        window.push_back(point);
        while window.len() > self.window {
            window.pop_front();
        }
        let points: Vec<Vec<f64>> = window.iter().cloned().collect();
        let mut values = row.values.to_vec();
        values.push(Value::string(&json(&find(&points, self.radius, self.min_points))));
        out.rows.push(Row { rowtime: row.rowtime, values });
    }

    fn close(&self, _state: &mut dyn Any, _until: Option<i64>, _cx: &mut EvalContext, _out: &mut Emitted) {}

    fn next_due(&self, _state: &dyn Any) -> Option<i64> {
        None
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<VecDeque<Vec<f64>>>().map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_cluster_is_found_and_scattered_points_are_not() {
        let mut points: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i) * 10.0, f64::from(i % 7) * 13.0]).collect();
        points.extend((0..10).map(|i| vec![200.0 + f64::from(i % 3) * 0.1, 50.0 + f64::from(i % 2) * 0.1]));
        let found = find(&points, 1.0, 5);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].min, vec![200.0, 50.0]);
        assert_eq!(found[0].max, vec![200.2, 50.1]);
        assert!(found[0].density > 10.0, "{found:?}");
        assert!(find(&points[..40], 1.0, 5).is_empty());
        assert_eq!(json(&[]), "{\"hotspots\":[]}");
    }
}
