//! JSON records: a tree of what the sample held, field by field in first-seen order, then one column per leaf.
//!
//! - Objects flatten into their fields: `{"a": {"b": 1}}` gives the column `$.a.b`.
//! - The first array of objects met (in column order) is flattened, one row per element as KDA's mapping does:
//!   `$.items[0:].sku`, a column per field of its elements. A mapping flattens one array only, so any other array
//!   is one VARCHAR column of its JSON text (`$.tags[0:]`; `$.items[0:].tags` inside a flattened one).
//! - A place that held values of different shapes (an object in one record, a number in another) is one VARCHAR
//!   column of its text, which the mapping reads from any of them.
//! - A field only ever `{}` is one VARCHAR column too. Keys that `.name` cannot spell (not letters, digits and `_`)
//!   are written `['a b']`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::kinds::{Kind, Stats, json_number_kind, string_kind};
use crate::types::SqlType;

/// What the sample held at one place of its records.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// Every value here, as text (objects and arrays as their JSON text).
    stats: Stats,
    objects: usize,
    arrays: usize,
    scalars: usize,
    /// The objects' fields, in first-seen order.
    fields: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    /// The arrays' elements, all together.
    elements: Option<Box<Node>>,
}

impl Node {
    /// Counts one value (valid JSON: the caller parsed it) and everything inside it.
    pub(crate) fn add(&mut self, raw: &RawValue) -> Result<(), serde_json::Error> {
        let text = raw.get().trim_ascii();
        match text.as_bytes().first() {
            Some(b'{') => {
                self.objects += 1;
                self.stats.add(Kind::Text, text.chars().count());
                for (key, value) in Fields::parse(text)?.0 {
                    self.field(key).add(value)?;
                }
            }
            Some(b'[') => {
                self.arrays += 1;
                self.stats.add(Kind::Text, text.chars().count());
                let elements: Vec<&RawValue> = serde_json::from_str(text)?;
                let node = self.elements.get_or_insert_default();
                for element in elements {
                    node.add(element)?;
                }
            }
            Some(b'"') => {
                let string: String = serde_json::from_str(text)?;
                self.scalars += 1;
                self.stats.add(string_kind(&string), string.chars().count());
            }
            Some(b'n') => {}
            Some(b't') => self.scalar(Kind::Boolean, 4),
            Some(b'f') => self.scalar(Kind::Boolean, 5),
            _ => self.scalar(json_number_kind(text), text.len()),
        }
        Ok(())
    }

    fn scalar(&mut self, kind: Kind, chars: usize) {
        self.scalars += 1;
        self.stats.add(kind, chars);
    }

    fn field(&mut self, key: String) -> &mut Node {
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None => {
                self.index.insert(key.clone(), self.fields.len());
                self.fields.push((key, Node::default()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[at].1
    }

    /// The longest value seen here, as VARCHAR: for the fallback of a record with no fields.
    pub(crate) fn text_type(&self) -> SqlType {
        self.stats.text_type()
    }
}

/// A column found in the tree: the keys it was read from (outermost first), its JSONPath and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub keys: Vec<String>,
    pub path: String,
    pub sql_type: SqlType,
}

/// The columns of records whose tree is `root`, and the array flattened, if any (`$.items[0:]`).
pub(crate) fn leaves(root: &Node) -> (Vec<Leaf>, Option<String>) {
    let mut out = Leaves::default();
    let mut keys = Vec::new();
    out.fields(root, &mut keys, "$", false);
    (out.leaves, out.flattened)
}

#[derive(Default)]
struct Leaves {
    leaves: Vec<Leaf>,
    flattened: Option<String>,
}

impl Leaves {
    fn fields(&mut self, node: &Node, keys: &mut Vec<String>, path: &str, in_slice: bool) {
        for (key, child) in &node.fields {
            keys.push(key.clone());
            self.place(child, keys, &push_key(path, key), in_slice);
            keys.pop();
        }
    }

    fn place(&mut self, node: &Node, keys: &mut Vec<String>, path: &str, in_slice: bool) {
        match (node.objects > 0, node.arrays > 0, node.scalars > 0) {
            (true, false, false) if !node.fields.is_empty() => self.fields(node, keys, path, in_slice),
            (false, true, false) => {
                let elements = node.elements.as_deref().filter(|e| {
                    !in_slice && self.flattened.is_none() && e.arrays == 0 && e.scalars == 0 && !e.fields.is_empty()
                });
                let whole = if in_slice { path.to_owned() } else { format!("{path}[0:]") };
                match elements {
                    Some(elements) => {
                        self.flattened = Some(whole.clone());
                        self.fields(elements, keys, &whole, true);
                    }
                    None => self.leaf(keys, whole, node.stats.text_type()),
                }
            }
            (false, false, _) => self.leaf(keys, path.to_owned(), node.stats.sql_type()),
            _ => self.leaf(keys, path.to_owned(), node.stats.text_type()),
        }
    }

    fn leaf(&mut self, keys: &[String], path: String, sql_type: SqlType) {
        self.leaves.push(Leaf { keys: keys.to_vec(), path, sql_type });
    }
}

/// `path` and one more key: `.key`, or `['key']` when `.` cannot spell it.
fn push_key(path: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return format!("{path}.{key}");
    }
    let mut out = format!("{path}['");
    for c in key.chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("']");
    out
}

/// An object's fields in the order written (serde_json's map would sort them), each value's raw text borrowed.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'a> Fields<'a> {
    fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(records: &[&str]) -> Node {
        let mut root = Node::default();
        for record in records {
            let raw: &RawValue = serde_json::from_str(record).expect("valid JSON");
            root.add(raw).expect("valid JSON");
        }
        root
    }

    fn shown(records: &[&str]) -> Vec<String> {
        leaves(&tree(records)).0.iter().map(|l| format!("{} {} {}", l.keys.join("/"), l.path, l.sql_type)).collect()
    }

    #[test]
    fn nested_objects_flatten_to_paths_in_first_seen_order() {
        let got = shown(&[r#"{"z": 1, "a": {"b": true, "c": "x"}}"#, r#"{"a": {"d": null, "b": false}, "y": 2.5}"#]);
        assert_eq!(
            got,
            ["z $.z INTEGER", "a/b $.a.b BOOLEAN", "a/c $.a.c VARCHAR(4)", "a/d $.a.d VARCHAR(4)", "y $.y DOUBLE"]
        );
    }

    #[test]
    fn one_array_of_objects_is_flattened_and_the_others_kept_whole() {
        let record = r#"{"id": 1, "tags": ["a", "b"], "items": [{"sku": "abc", "qty": 2, "opts": [1]}],
            "more": [{"x": 1}]}"#;
        let (got, flattened) = leaves(&tree(&[record]));
        let paths: Vec<(&str, String)> = got.iter().map(|l| (l.path.as_str(), l.sql_type.to_string())).collect();
        assert_eq!(
            paths,
            [
                ("$.id", "INTEGER".into()),
                ("$.tags[0:]", "VARCHAR(16)".into()),
                ("$.items[0:].sku", "VARCHAR(4)".into()),
                ("$.items[0:].qty", "INTEGER".into()),
                ("$.items[0:].opts", "VARCHAR(4)".into()),
                ("$.more[0:]", "VARCHAR(16)".into()),
            ]
        );
        assert_eq!(flattened.as_deref(), Some("$.items[0:]"));
    }

    #[test]
    fn mixed_shapes_become_text_and_odd_keys_are_quoted() {
        let got = shown(&[r#"{"v": {"a": 1}, "a b": 1, "it's": "x", "n": 1}"#, r#"{"v": 12345, "n": "text"}"#]);
        assert_eq!(
            got,
            ["v $.v VARCHAR(8)", "a b $['a b'] INTEGER", "it's $['it\\'s'] VARCHAR(4)", "n $.n VARCHAR(4)"]
        );
    }

    #[test]
    fn numbers_widen_and_timestamps_are_recognised() {
        let got = shown(&[
            r#"{"n": 1, "big": 1, "t": "2020-07-01T00:00:00.000", "d": "2020-07-01"}"#,
            r#"{"n": 1.5, "big": 9000000000, "t": "2020-07-01", "d": "2020-07-02"}"#,
        ]);
        assert_eq!(got, ["n $.n DOUBLE", "big $.big BIGINT", "t $.t TIMESTAMP", "d $.d DATE"]);
    }
}
