//! Loading a pipeline file: bytes -> capped, UTF-8 checked, budgeted YAML -> a JSON value plus the position of
//! every node, so later phases can report `file:line:col` for any JSON pointer.
//!
//! serde-saphyr does the parsing: it rejects duplicate keys, enforces budgets against alias bombs and deep
//! nesting, and never panics. We read into a small tree of [`Spanned`] nodes instead of straight into the spec
//! types, because serde loses positions inside internally tagged enums, and the schema phase needs them all.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Code, Position};

/// Largest pipeline file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A parsed pipeline file: its JSON value and where each node came from.
#[derive(Debug)]
pub struct Document {
    /// The document as JSON (YAML 1.2 core schema: no `yes`/`no` booleans).
    pub value: Value,
    /// Positions by JSON pointer.
    pub positions: Positions,
}

/// Where each node of a [`Document`] stands in its file, by JSON pointer (`""` is the root).
#[derive(Debug, Default)]
pub struct Positions {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Positions {
    /// The position of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn value(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position::at(1, 1),
            }
        }
    }

    /// The position of the key whose value is at `pointer` (falls back to the value's position).
    pub fn key(&self, pointer: &str) -> Position {
        self.keys.get(pointer).copied().unwrap_or_else(|| self.value(pointer))
    }
}

/// Why a file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// What kind of failure.
    pub code: Code,
    /// Where.
    pub position: Position,
    /// What went wrong.
    pub message: String,
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Parses a pipeline file's bytes.
pub fn load(bytes: &[u8]) -> Result<Document, LoadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(LoadError {
            code: Code::FileTooLarge,
            position: Position::at(1, 1),
            message: format!(
                "file is {} bytes; pipeline files are capped at {MAX_FILE_BYTES} bytes (1 MiB)",
                bytes.len()
            ),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        LoadError {
            code: Code::NotUtf8,
            position: Position::at(line as u32, column as u32),
            message: format!("invalid UTF-8 byte 0x{:02x}: pipeline files must be UTF-8", bytes[e.valid_up_to()]),
        }
    })?;
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(LoadError {
            code: Code::EmptyFile,
            position: Position::at(1, 1),
            message: "file holds no pipeline: expected a mapping with `name` and the pipeline's sections".into(),
        });
    }
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options()).map_err(|e| yaml_error(e, text))?;
    let mut positions = Positions::default();
    let value = to_json(root, String::new(), &mut positions)?;
    Ok(Document { value, positions })
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // A pipeline is a few hundred nodes; these caps leave room for generous files and refuse bombs fast.
    budget.max_events = 200_000;
    budget.max_nodes = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 64;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * MAX_FILE_BYTES;
    budget.max_recorded_anchor_events = 50_000;
    budget.max_recorded_anchor_bytes = MAX_FILE_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::Error;
    options.alias_limits.max_total_replayed_events = 50_000;
    options.with_snippet = false;
    options
}

fn position_of(location: &Location) -> Position {
    let len = location.span().len();
    Position {
        line: u32::try_from(location.line()).unwrap_or(u32::MAX).max(1),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX).max(1),
        len: u32::try_from(len).unwrap_or(1).max(1),
    }
}

fn yaml_error(error: serde_saphyr::Error, text: &str) -> LoadError {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;

    let mut position = error.location().map_or(Position::at(1, 1), |l| {
        Position::at(u32::try_from(l.line()).unwrap_or(1).max(1), u32::try_from(l.column()).unwrap_or(1).max(1))
    });
    // Alias and snippet wrappers carry extra locations; the cause is inside.
    let mut cause = &error;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = cause {
        cause = error;
    }
    const ALIAS_BOMB: &str = "aliases expand too far: refused as a possible alias bomb";
    let (code, message) = match cause {
        E::Budget { breach: B::Documents { .. }, .. } => (
            Code::YamlSyntax,
            "a second YAML document starts here: a pipeline file holds exactly one document".to_owned(),
        ),
        E::Budget { breach: B::Depth { .. }, .. } => (Code::YamlBudget, "nested more than 64 levels deep".to_owned()),
        E::Budget {
            breach: B::Events { .. } | B::Nodes { .. } | B::ScalarBytes { .. } | B::InputBytes { .. }, ..
        } => (Code::YamlBudget, "document too large for a pipeline file".to_owned()),
        E::Budget { .. }
        | E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => (Code::YamlBudget, ALIAS_BOMB.to_owned()),
        other => {
            let message = plain_message(&other.to_string());
            let code = if message.contains("duplicate") {
                Code::DuplicateKey
            } else if message.contains("limit") || message.contains("budget") {
                Code::YamlBudget
            } else {
                Code::YamlSyntax
            };
            let message = if message.contains("recursion limit") {
                "nested too deeply for a pipeline file".to_owned()
            } else {
                message
            };
            if message.contains("tab") {
                // The parser reports the column after the tab; point at the tab itself.
                let line = text.lines().nth(position.line as usize - 1).unwrap_or_default();
                if let Some(tab) = line.chars().position(|c| c == '\t') {
                    position.column = tab as u32 + 1;
                }
            }
            (code, message)
        }
    };
    LoadError { code, position, message }
}

/// serde-saphyr's message without its `line N column M: ` prefix, ` at line N, column M` suffix and advice about
/// its own options; the diagnostic gives the position once, in front.
fn plain_message(raw: &str) -> String {
    let message = match raw.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => raw,
    };
    let message = message.split(" at line ").next().unwrap_or(message);
    message.split(", set DuplicateKeyPolicy").next().unwrap_or(message).trim().to_owned()
}

/// A YAML node with the positions of its children.
enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

fn to_json(node: Spanned<Node>, pointer: String, positions: &mut Positions) -> Result<Value, LoadError> {
    let position = position_of(&node.referenced);
    let value = match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => i64::try_from(i)
            .map(Number::from)
            .or_else(|_| u64::try_from(i).map(Number::from))
            .map(Value::Number)
            .map_err(|_| LoadError {
                code: Code::InvalidValue,
                position,
                message: format!("integer {i} does not fit in 64 bits"),
            })?,
        Node::Float(f) => Value::Number(Number::from_f64(f).ok_or_else(|| LoadError {
            code: Code::InvalidValue,
            position,
            message: format!("`{f}` is not a finite number"),
        })?),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, format!("{pointer}/{i}"), positions))
                .collect::<Result<_, _>>()?,
        ),
        Node::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, item) in entries {
                let child = format!("{pointer}/{}", escape_pointer_segment(&key.value));
                positions.keys.insert(child.clone(), position_of(&key.referenced));
                let value = to_json(item, child, positions)?;
                map.insert(key.value, value);
            }
            Value::Object(map)
        }
    };
    positions.values.insert(pointer, position);
    Ok(value)
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Node, E> {
        i128::try_from(v).map(Node::Int).map_err(|_| E::custom("integer does not fit in 128 bits"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> LoadError {
        match load(text.as_bytes()) {
            Ok(doc) => panic!("loaded {:?}", doc.value),
            Err(e) => e,
        }
    }

    #[test]
    fn records_positions_of_keys_and_values() {
        let doc = load(b"name: x\nstreams:\n  s1: {type: embedded, shards: 2}\n").expect("loads");
        assert_eq!(doc.value["streams"]["s1"]["shards"], 2);
        assert_eq!(doc.positions.key("/streams/s1"), Position { line: 3, column: 3, len: 2 });
        let shards = doc.positions.value("/streams/s1/shards");
        assert_eq!((shards.line, shards.column), (3, 32));
        // A pointer below a leaf falls back to the leaf.
        assert_eq!(doc.positions.value("/streams/s1/shards/x").line, 3);
    }

    #[test]
    fn yaml_11_booleans_stay_strings() {
        let doc = load(b"a: yes\nb: on\nc: true\n").expect("loads");
        assert_eq!(doc.value["a"], "yes");
        assert_eq!(doc.value["b"], "on");
        assert_eq!(doc.value["c"], true);
    }

    #[test]
    fn rejects_bad_input_with_positions() {
        let e = err("a: 1\nb: 2\na: 3\n");
        assert_eq!((e.code, e.position.line, e.position.column), (Code::DuplicateKey, 3, 1));
        assert_eq!(e.message, "duplicate mapping key: a");
        assert_eq!(err("").code, Code::EmptyFile);
        assert_eq!(err("# only a comment\n").code, Code::EmptyFile);
        let e = err("a:\n\tb: 1\n");
        assert_eq!((e.code, e.position.line), (Code::YamlSyntax, 2));
        let e = load(b"name: ok\nbad: \xff\n").expect_err("not utf-8");
        assert_eq!((e.code, e.position.line, e.position.column), (Code::NotUtf8, 2, 6));
        let big = vec![b'#'; MAX_FILE_BYTES + 1];
        assert_eq!(load(&big).expect_err("too big").code, Code::FileTooLarge);
    }
}
