//! `RANDOM_CUT_FOREST(CURSOR(...), numberOfTrees, subSampleSize, timeDecay, shingleSize)` and
//! `RANDOM_CUT_FOREST_WITH_EXPLANATION(..., withDirectionality)` ([SQLREF] sqlrf-random-cut-forest): a streaming
//! Random Cut Forest (Guha et al., "Robust Random Cut Forest Based Anomaly Detection on Streams", ICML 2016) that
//! scores every row, then learns from it.
//!
//! ```text
//!   row ─numeric columns─▶ shingle (the last shingleSize rows, concatenated) ─▶ point
//!     point ──score in every tree──▶ ANOMALY_SCORE = mean over trees (0 until the forest has seen enough)
//!     point ──each tree's time-decayed reservoir sample (subSampleSize points)──▶ insert the point's leaf,
//!                                                                                 delete the evicted one's
//! ```
//!
//! Each tree is a random cut tree over its sample: an internal node cuts one dimension at a value drawn in its
//! bounding box, the dimension chosen in proportion to the box's span. Insertion and deletion keep the tree
//! distributed as if built from scratch on the sample (the paper's Theorems 2 and 3). A tree's sampler keeps the
//! points of smallest weight `-n / timeDecay + ln(-ln u)` (n the point's sequence number, u uniform): a reservoir
//! sample where recent points are favoured, forgetting on a scale of timeDecay points.
//!
//! The score is the one of AWS's randomcutforest-by-aws (AnomalyScoreVisitor): at the leaf the point would
//! reach at depth d, `1 / (d + 1)` (or, if the point is already there, `damp * 1 / (d + log2(mass + 1))`), then
//! up the path, at each node the probability `p` that a random cut of the node's box grown to include the point
//! separates it: `score = p / (depth + 1) + (1 - p) * score`; finally scaled by `log2(sample size + 1)`. Points
//! like those seen score below about 1; anomalies score higher. The explanation splits the same score per input
//! column and direction (above or below the boxes: HIGH or LOW), as the library's DiVector attribution does.
//!
//! Parameters and defaults: numberOfTrees 1..1000 (100), subSampleSize 10..1000 (256), timeDecay 1.. (100000),
//! shingleSize 1..30 (1), withDirectionality (FALSE); subSampleSize must be smaller than timeDecay. Scores are
//! 0 until subSampleSize / 4 points (and a full shingle) have been seen, as the library's `outputAfter`. NULLs
//! count as 0. The random numbers come from a fixed seed, so a run is reproducible.

use std::any::Any;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

use super::super::Row;
use super::super::eval::RowRef;
use super::super::stateful::{Emitted, Operator};
use super::{Built, Params};

/// A compiled RANDOM_CUT_FOREST call.
#[derive(Debug, Clone)]
struct Rcf {
    /// The cursor's numeric columns, in order.
    numeric: Vec<usize>,
    names: Vec<String>,
    config: Config,
    /// WITH_EXPLANATION: Some(withDirectionality).
    explain: Option<bool>,
}

/// The forest's parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// numberOfTrees.
    pub trees: usize,
    /// subSampleSize.
    pub sample: usize,
    /// timeDecay.
    pub decay: f64,
    /// shingleSize.
    pub shingle: usize,
}

/// Checks the arguments and builds the operator.
pub(super) fn build(params: &Params<'_>, columns: &[(String, SqlType)], explain: bool) -> Result<Built, SqlError> {
    let max = if explain { 5 } else { 4 };
    params.count(0, max, "a cursor, then numberOfTrees, subSampleSize, timeDecay and shingleSize (each optional)")?;
    let trees = params.int(0, "numberOfTrees", Some(100), (1, 1_000))? as usize;
    let sample = params.int(1, "subSampleSize", Some(256), (10, 1_000))? as usize;
    let decay = params.int(2, "timeDecay", Some(100_000), (1, i64::from(i32::MAX)))?;
    let shingle = params.int(3, "shingleSize", Some(1), (1, 30))? as usize;
    let directionality = params.boolean(4, "withDirectionality", false)?;
    if sample as i64 >= decay {
        let message =
            format!("{}: subSampleSize ({sample}) must be smaller than timeDecay ({decay})", params.function());
        return Err(super::super::plan::type_error(params.span(), message));
    }
    let numeric: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].1.is_numeric()).collect();
    if numeric.is_empty() {
        let message = format!("{} needs a numeric column in its cursor", params.function());
        return Err(super::super::plan::type_error(params.span(), message));
    }
    let names = numeric.iter().map(|&i| columns[i].0.clone()).collect();
    let mut out = columns.to_vec();
    out.push(("ANOMALY_SCORE".to_owned(), SqlType::Double));
    if explain {
        out.push(("ANOMALY_EXPLANATION".to_owned(), SqlType::Varchar(20_480)));
    }
    let config = Config { trees, sample, decay: decay as f64, shingle };
    let _ = params.len();
    Ok((Box::new(Rcf { numeric, names, config, explain: explain.then_some(directionality) }), out))
}

impl Operator for Rcf {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(RcfState { forest: Forest::new(self.config), shingle: VecDeque::new() })
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, _cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<RcfState>() else { return };
        let dims = self.numeric.len();
        state.shingle.extend(
            self.numeric
                .iter()
                .map(|&i| row.values.get(i).and_then(ops::to_f64).filter(|x| x.is_finite()).unwrap_or(0.0)),
        );
        while state.shingle.len() > dims * self.config.shingle {
            state.shingle.pop_front();
        }
        let mut values = row.values.to_vec();
        let full = state.shingle.len() == dims * self.config.shingle;
        let point: Vec<f64> = state.shingle.iter().copied().collect();
        let (score, attribution) = if full { state.forest.score(&point, self.explain.is_some()) } else { (0.0, None) };
        if full {
            state.forest.update(&point);
        }
        values.push(Value::Double(score));
        if let Some(directionality) = self.explain {
            values.push(Value::string(&self.explanation(attribution.as_deref(), directionality)));
        }
        out.rows.push(Row { rowtime: row.rowtime, values });
    }

    fn close(&self, _state: &mut dyn Any, _until: Option<i64>, _cx: &mut EvalContext, _out: &mut Emitted) {}

    fn next_due(&self, _state: &dyn Any) -> Option<i64> {
        None
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<RcfState>().map_or(0, |s| s.forest.points())
    }
}

impl Rcf {
    /// `{"col":{"DIRECTION":"HIGH","STRENGTH":"0.1234","ATTRIBUTION_SCORE":"0.5678"},...}`: per numeric column,
    /// its part of the score (summed over the shingle's positions); with directionality, whether the row is above
    /// (HIGH) or below (LOW) what the trees hold, and by how much of that part.
    fn explanation(&self, attribution: Option<&[(f64, f64)]>, directionality: bool) -> String {
        let dims = self.names.len();
        let mut text = String::from("{");
        for (c, name) in self.names.iter().enumerate() {
            let (mut high, mut low) = (0.0, 0.0);
            if let Some(attribution) = attribution {
                for (d, (h, l)) in attribution.iter().enumerate() {
                    if d % dims == c {
                        high += h;
                        low += l;
                    }
                }
            }
            if c > 0 {
                text.push(',');
            }
            let name = name.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = write!(text, "\"{name}\":{{");
            if directionality {
                let direction = if high >= low { "HIGH" } else { "LOW" };
                let _ = write!(text, "\"DIRECTION\":\"{direction}\",\"STRENGTH\":\"{:.4}\",", (high - low).abs());
            }
            let _ = write!(text, "\"ATTRIBUTION_SCORE\":\"{:.4}\"}}", high + low);
        }
        text.push('}');
        text
    }
}

#[derive(Debug)]
struct RcfState {
    forest: Forest,
    /// The last shingleSize rows' numeric values, oldest first.
    shingle: VecDeque<f64>,
}

/// A small, fast, seeded generator (SplitMix64): reproducible runs.
#[derive(Debug, Clone)]
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// A forest of random cut trees, each over its own time-decayed sample.
#[derive(Debug)]
pub(crate) struct Forest {
    config: Config,
    trees: Vec<Tree>,
    /// Points seen (their sequence numbers).
    seen: u64,
    random: Random,
}

impl Forest {
    /// An empty forest.
    pub fn new(config: Config) -> Forest {
        Forest {
            config,
            trees: (0..config.trees).map(|_| Tree::default()).collect(),
            seen: 0,
            random: Random(0x5eed_0f5a_11ce),
        }
    }

    /// Points held over all trees.
    pub fn points(&self) -> usize {
        self.trees.iter().map(|t| t.sample.len()).sum()
    }

    /// The point's anomaly score, and with `explain` its attribution per dimension (high, low).
    pub fn score(&self, point: &[f64], explain: bool) -> (f64, Option<Vec<(f64, f64)>>) {
        let warm = (self.config.sample / 4).max(1) as u64;
        if self.seen < warm {
            return (0.0, explain.then(|| vec![(0.0, 0.0); point.len()]));
        }
        let mut total = 0.0;
        let mut attribution = explain.then(|| vec![(0.0, 0.0); point.len()]);
        for tree in &self.trees {
            let (score, parts) = tree.score(point, explain);
            total += score;
            if let (Some(sum), Some(parts)) = (&mut attribution, parts) {
                for (s, p) in sum.iter_mut().zip(parts) {
                    s.0 += p.0;
                    s.1 += p.1;
                }
            }
        }
        let n = self.trees.len() as f64;
        if let Some(sum) = &mut attribution {
            for s in sum.iter_mut() {
                s.0 /= n;
                s.1 /= n;
            }
        }
        (total / n, attribution)
    }

    /// Offers the point to every tree's sampler.
    pub fn update(&mut self, point: &[f64]) {
        let lambda = 1.0 / self.config.decay;
        let sequence = self.seen as f64;
        self.seen += 1;
        for tree in &mut self.trees {
            let weight = -lambda * sequence + (-self.random.uniform().ln()).ln();
            tree.offer(point, weight, self.config.sample, &mut self.random);
        }
    }
}

const NONE: usize = usize::MAX;

/// A node of a random cut tree: a leaf (a sampled point, `mass` copies of it) or a cut.
#[derive(Debug, Clone)]
struct Node {
    parent: usize,
    mass: u32,
    /// The bounding box of the points below (a leaf: the point itself).
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// A cut: dimension, value, left (`<= value`) and right children.
    cut: Option<(usize, f64, usize, usize)>,
}

/// An f64 weight ordered totally, for the sampler's heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Weight(f64);

impl Eq for Weight {}

impl PartialOrd for Weight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Weight {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One random cut tree and its sample (a max-heap of weights, each entry a leaf).
#[derive(Debug, Default)]
struct Tree {
    nodes: Vec<Node>,
    free: Vec<usize>,
    root: Option<usize>,
    sample: BinaryHeap<(Weight, usize)>,
}

impl Tree {
    /// Offers a point with its weight: kept when the sample is not full or it weighs less than the heaviest.
    fn offer(&mut self, point: &[f64], weight: f64, capacity: usize, random: &mut Random) {
        if self.sample.len() >= capacity {
            match self.sample.peek() {
                Some((heaviest, _)) if heaviest.0 > weight => {}
                _ => return,
            }
            if let Some((_, leaf)) = self.sample.pop() {
                self.delete(leaf);
            }
        }
        let leaf = self.insert(point, random);
        self.sample.push((Weight(weight), leaf));
    }

    fn alloc(&mut self, node: Node) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    /// Inserts a point; returns its leaf.
    fn insert(&mut self, point: &[f64], random: &mut Random) -> usize {
        let leaf_node = |parent| Node { parent, mass: 1, lo: point.to_vec(), hi: point.to_vec(), cut: None };
        let Some(root) = self.root else {
            let leaf = self.alloc(leaf_node(NONE));
            self.root = Some(leaf);
            return leaf;
        };
        let mut at = root;
        loop {
            let node = &self.nodes[at];
            if node.cut.is_none() && node.lo.as_slice() == point {
                self.grow_up(at, None);
                return at;
            }
            // A random cut of the node's box grown to hold the point.
            let spans: Vec<f64> =
                (0..point.len()).map(|d| node.hi[d].max(point[d]) - node.lo[d].min(point[d])).collect();
            let total: f64 = spans.iter().sum();
            let mut r = random.uniform() * total;
            let mut dim = 0;
            for (d, span) in spans.iter().enumerate() {
                dim = d;
                if r < *span {
                    break;
                }
                r -= span;
            }
            let mut value = node.lo[dim].min(point[dim]) + r;
            let mut separates =
                (point[dim] <= value && value < node.lo[dim]) || (node.hi[dim] <= value && value < point[dim]);
            if !separates && node.cut.is_none() {
                // Rounding left the cut on the leaf's edge: cut halfway along the widest difference instead.
                dim = (0..point.len()).max_by(|&a, &b| spans[a].total_cmp(&spans[b])).unwrap_or(0);
                value = (node.lo[dim] + point[dim]) / 2.0;
                separates = true;
            }
            if separates {
                let parent = node.parent;
                let (mut lo, mut hi) = (node.lo.clone(), node.hi.clone());
                for d in 0..point.len() {
                    lo[d] = lo[d].min(point[d]);
                    hi[d] = hi[d].max(point[d]);
                }
                let mass = node.mass + 1;
                let leaf = self.alloc(leaf_node(NONE));
                let (left, right) = if point[dim] <= value { (leaf, at) } else { (at, leaf) };
                let cut = self.alloc(Node { parent, mass, lo, hi, cut: Some((dim, value, left, right)) });
                self.nodes[leaf].parent = cut;
                self.nodes[at].parent = cut;
                self.replace_child(parent, at, cut);
                self.grow_up(parent, Some(point));
                return leaf;
            }
            let Some((d, v, left, right)) = node.cut else { return at };
            at = if point[d] <= v { left } else { right };
        }
    }

    /// From `at` up to the root: one more point below, and the boxes grown to hold `point`.
    fn grow_up(&mut self, mut at: usize, point: Option<&[f64]>) {
        while at != NONE {
            let node = &mut self.nodes[at];
            node.mass += 1;
            if let Some(point) = point {
                for (d, x) in point.iter().enumerate() {
                    node.lo[d] = node.lo[d].min(*x);
                    node.hi[d] = node.hi[d].max(*x);
                }
            }
            at = node.parent;
        }
    }

    fn replace_child(&mut self, parent: usize, old: usize, new: usize) {
        if parent == NONE {
            self.root = Some(new);
            return;
        }
        if let Some((_, _, left, right)) = &mut self.nodes[parent].cut {
            if *left == old {
                *left = new;
            } else if *right == old {
                *right = new;
            }
        }
    }

    /// Deletes one copy of a leaf's point.
    fn delete(&mut self, leaf: usize) {
        if self.nodes[leaf].mass > 1 {
            let mut at = leaf;
            while at != NONE {
                self.nodes[at].mass -= 1;
                at = self.nodes[at].parent;
            }
            return;
        }
        let parent = self.nodes[leaf].parent;
        self.free.push(leaf);
        if parent == NONE {
            self.root = None;
            return;
        }
        let Some((_, _, left, right)) = self.nodes[parent].cut else { return };
        let sibling = if left == leaf { right } else { left };
        let grand = self.nodes[parent].parent;
        self.nodes[sibling].parent = grand;
        self.replace_child(grand, parent, sibling);
        self.free.push(parent);
        // Up from the grandparent: one point fewer, boxes shrunk to their children's.
        let mut at = grand;
        while at != NONE {
            if let Some((_, _, l, r)) = self.nodes[at].cut {
                let dims = self.nodes[at].lo.len();
                for d in 0..dims {
                    let lo = self.nodes[l].lo[d].min(self.nodes[r].lo[d]);
                    let hi = self.nodes[l].hi[d].max(self.nodes[r].hi[d]);
                    self.nodes[at].lo[d] = lo;
                    self.nodes[at].hi[d] = hi;
                }
            }
            self.nodes[at].mass -= 1;
            at = self.nodes[at].parent;
        }
    }

    /// The tree's score of a point, and with `explain` its attribution per dimension (high, low).
    fn score(&self, point: &[f64], explain: bool) -> (f64, Option<Vec<(f64, f64)>>) {
        let Some(root) = self.root else { return (0.0, None) };
        let mut path = vec![root];
        let mut at = root;
        while let Some((d, v, left, right)) = self.nodes[at].cut {
            at = if point[d] <= v { left } else { right };
            path.push(at);
        }
        let tree_mass = f64::from(self.nodes[root].mass);
        let leaf = &self.nodes[at];
        let depth = (path.len() - 1) as f64;
        let mut inside = false;
        let mut parts = explain.then(|| vec![(0.0, 0.0); point.len()]);
        let mut score;
        if leaf.lo.as_slice() == point {
            inside = true;
            let mass = f64::from(leaf.mass);
            let damp = 1.0 - mass / (2.0 * tree_mass);
            score = damp / (depth + (mass + 1.0).log2());
            if let Some(parts) = &mut parts {
                // Nothing stands out: share the score evenly.
                let share = score / (2 * point.len()) as f64;
                parts.iter_mut().for_each(|p| *p = (share, share));
            }
        } else {
            score = 1.0 / (depth + 1.0);
            if let Some(parts) = &mut parts {
                distribute(parts, &leaf.lo, &leaf.hi, point, score, 1.0);
            }
        }
        for (depth, &node) in path.iter().enumerate().rev().skip(1) {
            if inside {
                break;
            }
            let node = &self.nodes[node];
            let (mut outside, mut total) = (0.0, 0.0);
            for ((x, lo), hi) in point.iter().zip(&node.lo).zip(&node.hi) {
                outside += (lo - x).max(0.0) + (x - hi).max(0.0);
                total += hi.max(*x) - lo.min(*x);
            }
            if outside <= 0.0 || total <= 0.0 {
                inside = true;
                continue;
            }
            let p = outside / total;
            let unseen = 1.0 / (depth as f64 + 1.0);
            score = p * unseen + (1.0 - p) * score;
            if let Some(parts) = &mut parts {
                for part in parts.iter_mut() {
                    part.0 *= 1.0 - p;
                    part.1 *= 1.0 - p;
                }
                distribute(parts, &node.lo, &node.hi, point, unseen, total);
            }
        }
        let scale = (tree_mass + 1.0).log2();
        if let Some(parts) = &mut parts {
            parts.iter_mut().for_each(|p| *p = (p.0 * scale, p.1 * scale));
        }
        (score * scale, parts)
    }
}

/// Adds `weight` times the probability that a cut falls above (high) or below (low) the box in each dimension.
/// `total` is the grown box's span sum (1.0 at a leaf: spread over the distances to the leaf's point).
fn distribute(parts: &mut [(f64, f64)], lo: &[f64], hi: &[f64], point: &[f64], weight: f64, total: f64) {
    let denominator =
        if total == 1.0 && lo == hi { point.iter().zip(lo).map(|(x, l)| (x - l).abs()).sum::<f64>() } else { total };
    if denominator <= 0.0 {
        return;
    }
    for d in 0..point.len() {
        parts[d].0 += weight * (point[d] - hi[d]).max(0.0) / denominator;
        parts[d].1 += weight * (lo[d] - point[d]).max(0.0) / denominator;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forest(trees: usize, sample: usize) -> Forest {
        Forest::new(Config { trees, sample, decay: 100_000.0, shingle: 1 })
    }

    #[test]
    fn anomalies_score_higher_than_normal_points() {
        let mut forest = forest(50, 64);
        let mut random = Random(7);
        let mut normal = Vec::new();
        for i in 0..2_000 {
            let point = [10.0 + random.uniform(), 20.0 + random.uniform()];
            let (score, _) = forest.score(&point, false);
            if i > 500 {
                normal.push(score);
            }
            forest.update(&point);
        }
        let mean = normal.iter().sum::<f64>() / normal.len() as f64;
        let (anomaly, parts) = forest.score(&[10.5, 60.0], true);
        assert!(mean < 1.2, "normal points score low: {mean}");
        assert!(anomaly > 2.0 * mean, "an anomaly scores higher: {anomaly} vs {mean}");
        let parts = parts.expect("explained");
        assert!(parts[1].0 > parts[0].0 + parts[0].1, "the second dimension, above: {parts:?}");
        let sum: f64 = parts.iter().map(|p| p.0 + p.1).sum();
        assert!((sum - anomaly).abs() < 1e-9 * anomaly.max(1.0), "the parts add up: {sum} vs {anomaly}");
    }

    #[test]
    fn trees_hold_their_sample_and_stay_consistent() {
        let mut forest = forest(3, 16);
        for i in 0..500 {
            forest.update(&[f64::from(i % 7), f64::from(i % 3)]);
        }
        for tree in &forest.trees {
            assert_eq!(tree.sample.len(), 16);
            let root = tree.root.expect("a root");
            assert_eq!(tree.nodes[root].mass, 16);
            // Every internal node's mass is its children's, its box their union.
            let mut stack = vec![root];
            while let Some(at) = stack.pop() {
                if let Some((_, _, l, r)) = tree.nodes[at].cut {
                    assert_eq!(tree.nodes[at].mass, tree.nodes[l].mass + tree.nodes[r].mass);
                    assert_eq!(tree.nodes[l].parent, at);
                    assert_eq!(tree.nodes[r].parent, at);
                    stack.extend([l, r]);
                }
            }
        }
    }
}
