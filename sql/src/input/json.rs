//! JSON records: one pass of serde_json over the record, guided by a trie of the columns' paths.
//!
//! The paths compile into a trie ([`Node`]): a node holds the columns that take its value (leaves) and the fields,
//! indexes and flattened array below it. Walking a record, a field no column names is skipped (`IgnoredAny`: parsed,
//! never built); a field that columns take is borrowed as its raw JSON text (`&RawValue`, no copy) and coerced
//! straight into the row; a field with columns below it is descended in the same pass. A node that is both taken
//! and descended (`$.a` and `$.a.b`) re-reads its borrowed text, the only case that reads bytes twice.
//!
//! Leaves whose columns need no raw text (numbers, booleans, dates: everything but CHAR/VARCHAR/DECIMAL) are read
//! typed, from the parser's events, without the raw-text detour.
//!
//! Flattening (`$.a[0:].x`): each element of the array gets its own row of the flattened columns; the other columns
//! are filled in at the end, because fields can come in any order.
//!
//! Fast path: when every path is a top-level field (`$.a`, the usual KDA mapping), a record is first read by a
//! byte scanner ([`FlatMapping`], flat.rs). Anything it does not take (escapes, nested values, invalid JSON or
//! UTF-8) goes to the general walk, which gives the same rows and the error messages; tests check that both
//! agree. A value that does not coerce is the scanner's error, with the value's text as written.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::coerce::{self, Json};
use super::flat::{self, FlatMapping};
use super::jsonpath::{self, Step};
use super::{InputColumn, RowPool};
use crate::error::{SqlError, SqlErrorKind};
use crate::types::SqlType;
use crate::value::Value;

/// Above this many fields, a node looks names up in a hash map instead of comparing them in turn.
const LINEAR_KEYS: usize = 8;

/// A compiled JSON mapping.
#[derive(Debug)]
pub(crate) struct JsonMapping {
    root: Node,
    /// Whether each column is under the flattened array.
    flattened: Vec<bool>,
    /// The fast path, when every path is a top-level field (`$.a`).
    flat: Option<FlatMapping>,
}

/// A place in the record that columns name.
#[derive(Debug, Default)]
struct Node {
    /// Columns that take this value.
    leaves: Vec<Leaf>,
    /// Fields below, by name.
    keys: Vec<(Box<str>, Node)>,
    /// `keys` by name, when there are many.
    lookup: Option<HashMap<Box<str>, usize>>,
    /// Elements below, by index.
    indices: Vec<(usize, Node)>,
    /// The flattened array's first element and the node applied to each element.
    flatten: Option<(usize, Box<Node>)>,
    /// Whether the leaves read the value as raw JSON text (else typed, straight from the parser's events).
    raw: bool,
}

#[derive(Debug)]
struct Leaf {
    column: usize,
    /// `[0:]` at the end of the path: the value only if it is an array.
    whole_array: bool,
}

impl Node {
    fn descends(&self) -> bool {
        !self.keys.is_empty() || !self.indices.is_empty() || self.flatten.is_some()
    }

    fn key(&self, name: &str) -> Option<usize> {
        match &self.lookup {
            Some(lookup) => lookup.get(name).copied(),
            None => self.keys.iter().position(|(key, _)| **key == *name),
        }
    }

    fn child(&mut self, step: &Step) -> &mut Node {
        match step {
            Step::Key(name) => {
                let at = self.keys.iter().position(|(key, _)| **key == **name).unwrap_or_else(|| {
                    self.keys.push((name.as_str().into(), Node::default()));
                    self.keys.len() - 1
                });
                &mut self.keys[at].1
            }
            Step::Index(index) => {
                let at = self.indices.iter().position(|(i, _)| i == index).unwrap_or_else(|| {
                    self.indices.push((*index, Node::default()));
                    self.indices.len() - 1
                });
                &mut self.indices[at].1
            }
            Step::Slice(start) => &mut self.flatten.get_or_insert_with(|| (*start, Box::default())).1,
        }
    }

    /// Builds the lookups and decides how each node reads its value, once the paths are in.
    fn finish(&mut self, columns: &[InputColumn]) {
        if self.keys.len() > LINEAR_KEYS {
            self.lookup = Some(self.keys.iter().enumerate().map(|(i, (key, _))| (key.clone(), i)).collect());
        }
        // Strings keep a number's text and an array's or object's JSON text; DECIMAL keeps a number's every digit.
        let needs_text = |leaf: &Leaf| {
            leaf.whole_array
                || matches!(
                    columns[leaf.column].sql_type,
                    SqlType::Char(_) | SqlType::Varchar(_) | SqlType::Decimal { .. }
                )
        };
        self.raw = self.descends() || self.leaves.iter().any(needs_text);
        for (_, node) in &mut self.keys {
            node.finish(columns);
        }
        for (_, node) in &mut self.indices {
            node.finish(columns);
        }
        if let Some((_, node)) = &mut self.flatten {
            node.finish(columns);
        }
    }
}

impl JsonMapping {
    /// Compiles the columns' paths; an error names the column.
    pub(crate) fn new(columns: &[InputColumn]) -> Result<Self, SqlError> {
        let mut root = Node::default();
        let mut flattened = vec![false; columns.len()];
        // The flattened array (its path up to `[n:]`) and the first column that flattens it.
        let mut flat: Option<(&[Step], &str)> = None;
        let mut paths = Vec::with_capacity(columns.len());
        for column in columns {
            let fail = |why: String| SqlError {
                kind: SqlErrorKind::Syntax,
                message: format!("column `{}`: {why}", column.name),
                span: None,
                help: None,
            };
            let path = column.path.as_deref().ok_or_else(|| fail("JSON input needs a JSONPath `path`".into()))?;
            paths.push(jsonpath::parse(path).map_err(|why| fail(format!("JSONPath `{path}`: {why}")))?);
        }
        for (column, (steps, meta)) in paths.iter().zip(columns).enumerate() {
            let slice = steps.iter().position(|s| matches!(s, Step::Slice(_)));
            let whole_array = slice.is_some_and(|at| at + 1 == steps.len());
            if let Some(at) = slice.filter(|_| !whole_array) {
                let prefix = &steps[..=at];
                match flat {
                    None => flat = Some((prefix, &meta.name)),
                    Some((other, _)) if other == prefix => {}
                    Some((_, first)) => {
                        return Err(SqlError {
                            kind: SqlErrorKind::NotSupported,
                            message: format!(
                                "column `{}` flattens a second array (column `{first}` flattens another): \
                                 a mapping can flatten one array only",
                                meta.name
                            ),
                            span: None,
                            help: None,
                        });
                    }
                }
                flattened[column] = true;
            }
            let mut node = &mut root;
            let walk = if whole_array { &steps[..steps.len() - 1] } else { &steps[..] };
            for step in walk {
                node = node.child(step);
            }
            node.leaves.push(Leaf { column, whole_array });
        }
        root.finish(columns);
        let flat = (root.leaves.is_empty()
            && root.indices.is_empty()
            && root.flatten.is_none()
            && root.keys.iter().all(|(_, node)| !node.descends()))
        .then(|| {
            let fields = root.keys.iter().map(|(name, node)| {
                (&**name, node.leaves.iter().map(|leaf| (leaf.column, leaf.whole_array)).collect())
            });
            FlatMapping::new(fields, columns)
        })
        .flatten();
        Ok(JsonMapping { root, flattened, flat })
    }

    /// Maps one record; see [`InputMapping::map_record`](super::InputMapping::map_record).
    #[inline]
    pub(crate) fn map(
        &self,
        columns: &[InputColumn],
        data: &[u8],
        out: &mut Vec<Vec<Value>>,
        pool: &mut RowPool,
    ) -> Result<(), SqlError> {
        let mut row = null_row(columns.len(), pool);
        if let Some(flat) = &self.flat {
            let mut error = None;
            if flat.map(columns, data, &mut row, &mut error).is_some() {
                out.push(row);
                return Ok(());
            }
            if let Some(error) = flat::coercion_error(error, data) {
                pool.give(row);
                return Err(error);
            }
            // Not simple enough for the fast path: the general walk, from a clean row.
            row.fill(Value::Null);
        }
        self.walk(columns, data, row, out)
    }

    /// The general walk: serde_json's parser, guided by the trie, filling `base` (all NULL).
    #[inline(never)]
    fn walk(
        &self,
        columns: &[InputColumn],
        data: &[u8],
        base: Vec<Value>,
        out: &mut Vec<Vec<Value>>,
    ) -> Result<(), SqlError> {
        let mut state = State { columns, base, elements: Vec::new(), error: None };
        // One UTF-8 check of the whole record, so that the parser borrows fields and keys without checking each.
        let text = std::str::from_utf8(data)
            .map_err(|e| SqlError::data(format!("the record is not valid JSON: it is not UTF-8 ({e})")))?;
        let mut reader = serde_json::Deserializer::from_str(text);
        let walked = NodeSeed { node: &self.root, state: &mut state, target: None }
            .deserialize(&mut reader)
            .and_then(|()| reader.end());
        if let Some(error) = state.error {
            return Err(error);
        }
        walked.map_err(|e| SqlError::data(format!("the record is not valid JSON: {e}")))?;
        if state.elements.is_empty() {
            out.push(state.base);
            return Ok(());
        }
        for mut row in state.elements {
            for (column, flattened) in self.flattened.iter().enumerate() {
                if !flattened {
                    row[column] = state.base[column].clone();
                }
            }
            out.push(row);
        }
        Ok(())
    }
}

/// A row of `columns` NULLs (a buffer from `pool`, or a new one with room for the columns the application
/// appends).
#[inline]
fn null_row(columns: usize, pool: &mut RowPool) -> Vec<Value> {
    let mut row = pool.take(columns);
    row.extend((0..columns).map(|_| Value::Null));
    row
}

/// What one record's walk builds.
struct State<'m> {
    columns: &'m [InputColumn],
    /// The row (the only one, or the columns outside the flattened array).
    base: Vec<Value>,
    /// One row per element of the flattened array.
    elements: Vec<Vec<Value>>,
    /// The coercion error that stopped the walk.
    error: Option<SqlError>,
}

/// The message of the serde error that stops a walk after a coercion error (replaced by `State::error`).
const STOPPED: &str = "stopped by a coercion error";

impl State<'_> {
    /// Coerces `json` into the leaves' columns of the row `target` (None: the base row).
    fn assign(&mut self, leaves: &[Leaf], json: &Json<'_>, target: Option<usize>) -> Result<(), ()> {
        for leaf in leaves {
            if leaf.whole_array && !matches!(json, Json::Composite(text) if text.starts_with('[')) {
                continue;
            }
            let column = &self.columns[leaf.column];
            match coerce::from_json(json, &column.sql_type) {
                Ok(value) => {
                    let row = match target {
                        Some(element) => &mut self.elements[element],
                        None => &mut self.base,
                    };
                    row[leaf.column] = value;
                }
                Err(why) => {
                    self.error = Some(SqlError::data(format!("column `{}`: {why}", column.name)));
                    return Err(());
                }
            }
        }
        Ok(())
    }

    fn new_element(&mut self) -> usize {
        self.elements.push(null_row(self.columns.len(), &mut RowPool::default()));
        self.elements.len() - 1
    }
}

/// Applies a node to one JSON value.
struct NodeSeed<'s, 'n, 'm> {
    node: &'n Node,
    state: &'s mut State<'m>,
    target: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let NodeSeed { node, state, target } = self;
        if node.leaves.is_empty() {
            return deserializer.deserialize_any(Descend { node, state, target });
        }
        if !node.raw {
            return deserializer.deserialize_any(Typed { node, state, target });
        }
        let raw = <&'de RawValue as de::Deserialize>::deserialize(deserializer)?;
        state.assign(&node.leaves, &Json::from_raw(raw.get()), target).map_err(|()| de::Error::custom(STOPPED))?;
        if node.descends() {
            descend_raw(node, state, target, raw.get()).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// Walks a value already borrowed as text.
fn descend_raw(node: &Node, state: &mut State<'_>, target: Option<usize>, raw: &str) -> Result<(), serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw);
    (&mut reader).deserialize_any(Descend { node, state, target })
}

/// Runs a node over a value already borrowed as text, with its leaves.
fn apply_raw(node: &Node, state: &mut State<'_>, target: Option<usize>, raw: &str) -> Result<(), serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw);
    NodeSeed { node, state, target }.deserialize(&mut reader)
}

/// Goes into an object's fields or an array's elements; other values do not match the paths below.
struct Descend<'s, 'n, 'm> {
    node: &'n Node,
    state: &'s mut State<'m>,
    target: Option<usize>,
}

impl<'de> Visitor<'de> for Descend<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Descend { node, state, target } = self;
        while let Some(found) = map.next_key_seed(KeySeed(node))? {
            match found {
                Some(at) => map.next_value_seed(NodeSeed { node: &node.keys[at].1, state: &mut *state, target })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Descend { node, state, target } = self;
        if node.flatten.is_some() {
            // A repeated key flattens its last array only.
            state.elements.clear();
        }
        for index in 0usize.. {
            let by_index = node.indices.iter().find(|(i, _)| *i == index).map(|(_, child)| child);
            let flat = node.flatten.as_ref().filter(|(start, _)| index >= *start).map(|(_, child)| &**child);
            let more = match (by_index, flat) {
                (None, None) => seq.next_element::<IgnoredAny>()?.is_some(),
                (Some(child), None) => {
                    seq.next_element_seed(NodeSeed { node: child, state: &mut *state, target })?.is_some()
                }
                (None, Some(child)) => {
                    let element = state.new_element();
                    let more =
                        seq.next_element_seed(NodeSeed { node: child, state: &mut *state, target: Some(element) })?;
                    if more.is_none() {
                        state.elements.pop();
                    }
                    more.is_some()
                }
                (Some(child), Some(flat)) => match seq.next_element::<&'de RawValue>()? {
                    None => false,
                    Some(raw) => {
                        apply_raw(child, state, target, raw.get()).map_err(de::Error::custom)?;
                        let element = state.new_element();
                        apply_raw(flat, state, Some(element), raw.get()).map_err(de::Error::custom)?;
                        true
                    }
                },
            };
            if !more {
                break;
            }
        }
        Ok(())
    }
}

/// Reads a leaf's value from the parser's events, for columns that need no raw text (numbers come as their
/// canonical text, which the coercion parses as it would the original).
struct Typed<'s, 'n, 'm> {
    node: &'n Node,
    state: &'s mut State<'m>,
    target: Option<usize>,
}

impl Typed<'_, '_, '_> {
    fn assign<E: de::Error>(self, json: &Json<'_>) -> Result<(), E> {
        self.state.assign(&self.node.leaves, json, self.target).map_err(|()| E::custom(STOPPED))
    }
}

impl<'de> Visitor<'de> for Typed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.assign(&Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.assign(&Json::Number(itoa::Buffer::new().format(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.assign(&Json::Number(itoa::Buffer::new().format(n)))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<(), E> {
        self.assign(&Json::Number(ryu::Buffer::new().format(x)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.assign(&Json::Str(text.into()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.assign(&Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.assign(&Json::Composite("[...]"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.assign(&Json::Composite("{...}"))
    }
}

/// Reads a field name and finds it among a node's fields, without copying it.
struct KeySeed<'n>(&'n Node);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(self.0.key(name))
    }
}
