//! The groups of one open window: a row's GROUP BY key is hashed where it lies (a scratch buffer the runner
//! reuses), so finding an existing group clones and allocates nothing; a new group takes the buffer.
//!
//! ```text
//!   key values (scratch) ──hash──▶ index: hash → first group ──chain──▶ groups[i].keys == key ?
//!                                                                        └─ no: push a group (first-seen order)
//! ```
//!
//! Grouping compares as `IS NOT DISTINCT FROM` ([SQLREF] sql-reference-group-by-clause): NULL equals NULL.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::ops;
use crate::value::Value;

use super::aggregate::Acc;

/// A value compared and hashed as GROUP BY and DISTINCT do: NULL equals NULL, `1.50` equals `1.5`, `-0.0`
/// equals `0.0`, NaN equals NaN.
#[derive(Debug, Clone)]
pub(crate) struct KeyValue(pub Value);

impl PartialEq for KeyValue {
    fn eq(&self, other: &Self) -> bool {
        same(&self.0, &other.0)
    }
}

impl Eq for KeyValue {}

impl Hash for KeyValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state);
    }
}

/// Whether two values of one GROUP BY expression are the same key.
#[inline]
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // The usual keys (FLOOR of a timestamp, an integer) compared without the general equality's dispatch.
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Double(x), Value::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => {
            ops::compare(a, b) == Some(std::cmp::Ordering::Equal) || (a.is_null() && b.is_null())
        }
        _ => a == b,
    }
}

/// Hashes a value consistently with [`same`].
pub(crate) fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => state.write_u8(0),
        Value::Boolean(b) => state.write_u8(1 + u8::from(*b)),
        Value::Int(i) => state.write_i64(*i),
        Value::Double(x) => state.write_u64(if *x == 0.0 { 0 } else { x.to_bits() }),
        Value::Decimal(d) => {
            // Trailing zeros do not change the value: hash the shortest form.
            let (mut unscaled, mut scale) = (d.unscaled, d.scale);
            while scale > 0 && unscaled % 10 == 0 {
                unscaled /= 10;
                scale -= 1;
            }
            if scale == 0 && i64::try_from(unscaled).is_ok() {
                state.write_i64(unscaled as i64); // Equal to the same integer, as `same` says.
            } else {
                state.write_i128(unscaled);
                state.write_u8(scale);
            }
        }
        Value::String(s) => state.write(s.as_bytes()),
        Value::Date(d) => state.write_i32(*d),
        Value::Time(t) => state.write_i32(*t),
        Value::Timestamp(t) | Value::Interval(t) => state.write_i64(*t),
        Value::Binary(b) => state.write(b),
        Value::IntervalMonths(m) => state.write_i32(*m),
        Value::Row(fields) => fields.iter().for_each(|f| hash_value(f, state)),
    }
}

/// A fast, non-cryptographic hasher (the multiply-rotate scheme of rustc's FxHash): group keys come from the
/// application's own rows, and one window's table is short-lived.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.mix(u64::from_le_bytes(tail) ^ (bytes.len() as u64) << 56);
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
}

/// Hashes the already-mixed u64 keys of the index as they are.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// No next group in a hash chain.
const END: u32 = u32::MAX;

/// One group of a window: its GROUP BY key values and its aggregates' accumulators.
#[derive(Debug)]
pub(crate) struct Group {
    /// The key: the per-row GROUP BY values, then the window's own GROUP BY values.
    pub keys: Vec<Value>,
    /// One accumulator per aggregate call.
    pub accs: Vec<Acc>,
    /// The next group with the same hash.
    next: u32,
}

/// The groups of one window, in the order they first appeared.
#[derive(Debug, Default)]
pub(crate) struct GroupTable {
    index: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    groups: Vec<Group>,
    /// The group the last row went to: consecutive rows usually share a group, and comparing a key with it
    /// costs less than hashing it.
    last: Option<u32>,
}

impl GroupTable {
    /// The group of `key` (its first `compared` values are the key), created by `start` when it is new; a new
    /// group takes `key`'s buffer.
    pub fn find_or_insert(&mut self, key: &mut Vec<Value>, start: impl FnOnce() -> Vec<Acc>) -> &mut Group {
        if key.is_empty() {
            // Only the window groups rows: one group, no hashing.
            if self.groups.is_empty() {
                self.groups.push(Group { keys: Vec::new(), accs: start(), next: END });
            }
            return &mut self.groups[0];
        }
        if let Some(last) = self.last
            && has_key(&self.groups[last as usize], key)
        {
            return &mut self.groups[last as usize];
        }
        let mut hasher = FastHasher::default();
        key.iter().for_each(|v| hash_value(v, &mut hasher));
        let hash = hasher.finish();
        let mut at = self.index.get(&hash).copied().unwrap_or(END);
        let mut last = END;
        while at != END {
            let group = &self.groups[at as usize];
            if has_key(group, key) {
                self.last = Some(at);
                return &mut self.groups[at as usize];
            }
            last = at;
            at = group.next;
        }
        let new = self.groups.len() as u32;
        self.groups.push(Group { keys: std::mem::take(key), accs: start(), next: END });
        if last == END {
            self.index.insert(hash, new);
        } else {
            self.groups[last as usize].next = new;
        }
        self.last = Some(new);
        &mut self.groups[new as usize]
    }

    /// Whether no row was grouped yet.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// How many groups are open.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Takes every group out, in first-seen order, leaving the table empty (its index keeps its capacity).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Group> {
        self.index.clear();
        self.last = None;
        self.groups.drain(..)
    }
}

/// Whether `group`'s key begins with `key` (the window's own values follow). Always inline: it runs per row, and
/// a call costs as much as comparing a one-value key.
#[inline(always)]
fn has_key(group: &Group, key: &[Value]) -> bool {
    group.keys.len() >= key.len() && group.keys.iter().zip(key).all(|(a, b)| same(a, b))
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::{AggKind, AggSpec};
    use super::*;
    use crate::types::SqlType;
    use crate::value::Decimal;

    #[test]
    fn keys_find_their_group_and_groups_keep_first_seen_order() {
        let mut table = GroupTable::default();
        let keys = [
            vec![Value::string("b"), Value::Null],
            vec![Value::string("a"), Value::Int(1)],
            vec![Value::string("b"), Value::Null],
            vec![Value::string("a"), Value::Decimal(Decimal { unscaled: 100, scale: 2 })],
        ];
        for key in keys {
            let mut key = key;
            let group = table.find_or_insert(&mut key, Vec::new);
            group.keys.push(Value::Boolean(true)); // The window's own values follow the compared ones.
        }
        let groups: Vec<Group> = table.drain().collect();
        assert_eq!(groups.len(), 2, "NULL = NULL, and 1.00 = 1");
        assert_eq!(groups[0].keys[0], Value::string("b"));
        assert_eq!(groups[1].keys[0], Value::string("a"));
        assert!(table.is_empty());
    }

    #[test]
    fn the_last_group_is_found_again_without_hashing_and_other_keys_still_find_theirs() {
        let mut table = GroupTable::default();
        let spec = AggSpec { kind: AggKind::CountStar, arg: None, distinct: false, result: SqlType::BigInt };
        let count = |table: &mut GroupTable, key: Value| {
            let group = table.find_or_insert(&mut vec![key], || vec![spec.start()]);
            group.accs[0].update(AggKind::CountStar, &Value::Null);
        };
        // Runs of one key (the cache hits), a key coming back after another (the cache misses, the index finds it),
        // and a key equal to the cached one only as GROUP BY compares (1.0 = 1).
        for key in [1, 1, 1, 2, 2, 1, 3, 1] {
            count(&mut table, Value::Int(key));
        }
        count(&mut table, Value::Decimal(Decimal { unscaled: 10, scale: 1 }));
        let groups: Vec<Group> = table.drain().collect();
        let keys: Vec<&Value> = groups.iter().map(|g| &g.keys[0]).collect();
        assert_eq!(keys, [&Value::Int(1), &Value::Int(2), &Value::Int(3)]);
        let counts: Vec<String> = groups.iter().map(|g| format!("{:?}", g.accs[0])).collect();
        assert!(counts[0].contains("Count(6)") && counts[1].contains("Count(2)"), "{counts:?}");
        // A drained table forgets its last group: the same key makes a new group.
        count(&mut table, Value::Int(1));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn integer_and_timestamp_keys_compare_as_the_general_equality_does() {
        let values = [
            Value::Int(5),
            Value::Int(-5),
            Value::Timestamp(5),
            Value::Timestamp(6),
            Value::Interval(5),
            Value::Decimal(Decimal { unscaled: 50, scale: 1 }),
            Value::Double(5.0),
            Value::Null,
        ];
        for a in &values {
            for b in &values {
                // The quick arm for two integers or two timestamps; everything else as before it.
                let general = match (a, b) {
                    (Value::Decimal(_), _) | (_, Value::Decimal(_)) => {
                        ops::compare(a, b) == Some(std::cmp::Ordering::Equal) || (a.is_null() && b.is_null())
                    }
                    _ => a == b,
                };
                assert_eq!(same(a, b), general, "{a:?} {b:?}");
            }
        }
        assert!(same(&Value::Int(5), &Value::Decimal(Decimal { unscaled: 50, scale: 1 })));
        assert!(!same(&Value::Int(5), &Value::Timestamp(5)));
    }

    #[test]
    fn scratch_keys_refilled_after_a_new_group_took_the_buffer() {
        // A new group takes the key buffer; the next row's key is a fresh one: both keys stay whole.
        let mut table = GroupTable::default();
        let mut key = vec![Value::Timestamp(60_000)];
        table.find_or_insert(&mut key, Vec::new);
        assert!(key.is_empty(), "taken by the new group");
        key.resize(1, Value::Null);
        key[0] = Value::Timestamp(120_000);
        table.find_or_insert(&mut key, Vec::new);
        key.resize(1, Value::Null);
        key[0] = Value::Timestamp(60_000);
        assert_eq!(table.find_or_insert(&mut key, Vec::new).keys, [Value::Timestamp(60_000)]);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn colliding_hashes_chain() {
        let mut table = GroupTable::default();
        for i in 0..10_000 {
            let mut key = vec![Value::Int(i % 5_000)];
            table.find_or_insert(&mut key, Vec::new);
        }
        assert_eq!(table.drain().count(), 5_000);
    }
}
