//! Templates: the record of `datagen` and every producer's `partition_key`.
//!
//! A template is text with `{{...}}` generators: `{{int A B}}` (uniform integer, both ends included),
//! `{{float A B}}` (uniform, up to 6 decimals), `{{now}}` (UTC, `2026-11-29T15:04:05.123`), `{{uuid}}` (v4),
//! `{{choice a b c}}` and `{{seq}}` (the record's number, from 1, continuing across restarts).
//!
//! Design: a template is compiled once into a flat list of pieces, literal bytes and generators, in output order.
//! A JSON template (a record) is flattened the same way: `{"a":"x{{int 1 2}}"}` becomes the literal `{"a":"x`,
//! an int generator and the literal `"}`, with literal text JSON-escaped at compile time. Rendering is then plain
//! concatenation into a reusable buffer: no parsing, no JSON tree, no escaping on the hot path. A string that is
//! exactly one `{{int}}`, `{{float}}` or `{{seq}}` renders as a JSON number; every other string as a JSON string.
//!
//! Randomness comes from the caller's RNG, so a seeded RNG makes every generator, `{{uuid}}` included, reproducible.

use std::io::Write as _;

use chrono::{Datelike, Timelike, Utc};
use rand::Rng;
use serde_json::Value;
use sluice_core::suggest::did_you_mean;

const GENERATORS: [&str; 6] = ["int", "float", "now", "uuid", "choice", "seq"];

/// A compiled template, ready to render.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(Vec<u8>),
    Gen(Gen),
}

#[derive(Debug, Clone)]
enum Gen {
    Int(i64, i64),
    Float(f64, f64),
    Now,
    Uuid,
    /// The options, already escaped for where they land.
    Choice(Vec<Vec<u8>>),
    Seq,
}

/// A mistake in a template string, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// `/`-separated path of the bad string inside a JSON template (`""` for the template itself).
    pub path: String,
    /// The bad string.
    pub template: String,
    /// What is wrong, naming the generator.
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "`{}`: {}", self.path, self.message) }
    }
}

impl std::error::Error for TemplateError {}

/// One parsed part of a template string: text, or a generator with its options unescaped.
enum Segment<'a> {
    Text(&'a str),
    Gen(Gen),
}

/// Checks a template string offline (`sluice validate`): unknown generators, wrong arity, bad bounds.
pub fn check(template: &str) -> Result<(), String> {
    parse(template).map(drop)
}

/// Checks every string of a JSON template; returns each mistake with its path.
pub fn check_json(template: &Value) -> Vec<TemplateError> {
    let mut errors = Vec::new();
    compile_json(template, &mut String::new(), &mut Builder::default(), &mut errors);
    errors
}

impl Template {
    /// Compiles a text template (a partition key): generators are rendered as text, nothing is escaped.
    pub fn text(template: &str) -> Result<Template, String> {
        let mut out = Builder::default();
        for segment in parse(template)? {
            match segment {
                Segment::Text(text) => out.literal(text.as_bytes()),
                Segment::Gen(generator) => out.generator(generator),
            }
        }
        Ok(out.finish())
    }

    /// Compiles a JSON template (a record) that renders as compact JSON; fails on its first bad string.
    pub fn json(template: &Value) -> Result<Template, TemplateError> {
        let mut out = Builder::default();
        let mut errors = Vec::new();
        compile_json(template, &mut String::new(), &mut out, &mut errors);
        match errors.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(out.finish()),
        }
    }

    /// The default partition key: a random UUID per record.
    pub fn uuid() -> Template {
        Template { pieces: vec![Piece::Gen(Gen::Uuid)] }
    }

    /// Appends one rendering to `out`; `seq` is the record's number. `{{now}}` is read once per rendering.
    pub fn render(&self, rng: &mut impl Rng, seq: u64, out: &mut Vec<u8>) {
        let mut now = None;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(bytes) => out.extend_from_slice(bytes),
                Piece::Gen(Gen::Int(low, high)) => {
                    let _ = write!(out, "{}", rng.random_range(*low..=*high));
                }
                Piece::Gen(Gen::Float(low, high)) => write_float(rng.random_range(*low..=*high), out),
                Piece::Gen(Gen::Now) => out.extend_from_slice(now.get_or_insert_with(now_text)),
                Piece::Gen(Gen::Uuid) => {
                    // One 128-bit draw: `random::<[u8; 16]>()` would draw each byte separately.
                    let uuid = uuid::Builder::from_random_bytes(rng.random::<u128>().to_le_bytes()).into_uuid();
                    out.extend_from_slice(uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
                }
                Piece::Gen(Gen::Choice(options)) => out.extend_from_slice(&options[rng.random_range(0..options.len())]),
                Piece::Gen(Gen::Seq) => {
                    let _ = write!(out, "{seq}");
                }
            }
        }
    }

    /// The text every rendering produces, if the template has no generators (a constant partition key).
    pub fn constant(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Literal(bytes)] => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// Renders into a new string (a partition key).
    pub fn render_string(&self, rng: &mut impl Rng, seq: u64) -> String {
        let mut out = Vec::with_capacity(40);
        self.render(rng, seq, &mut out);
        // Every piece is UTF-8 (compiled from strings, generators print ASCII), so this never replaces anything.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Collects pieces, merging adjacent literals.
#[derive(Default)]
struct Builder {
    pieces: Vec<Piece>,
}

impl Builder {
    fn literal(&mut self, bytes: &[u8]) {
        if let Some(Piece::Literal(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else if !bytes.is_empty() {
            self.pieces.push(Piece::Literal(bytes.to_vec()));
        }
    }

    fn generator(&mut self, generator: Gen) {
        self.pieces.push(Piece::Gen(generator));
    }

    fn finish(self) -> Template {
        Template { pieces: self.pieces }
    }
}

/// Flattens `value` into `out`; bad strings go to `errors` (with their path) and compilation goes on.
fn compile_json(value: &Value, path: &mut String, out: &mut Builder, errors: &mut Vec<TemplateError>) {
    match value {
        Value::String(text) => match parse(text) {
            Ok(segments) => compile_json_string(segments, out),
            Err(message) => errors.push(TemplateError { path: path.clone(), template: text.clone(), message }),
        },
        Value::Array(items) => {
            out.literal(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.literal(b",");
                }
                with_segment(path, &i.to_string(), |path| compile_json(item, path, out, errors));
            }
            out.literal(b"]");
        }
        Value::Object(fields) => {
            out.literal(b"{");
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.literal(b",");
                }
                out.literal(&json_string(key));
                out.literal(b":");
                with_segment(path, key, |path| compile_json(item, path, out, errors));
            }
            out.literal(b"}");
        }
        literal => out.literal(&to_json(literal)),
    }
}

fn compile_json_string(segments: Vec<Segment<'_>>, out: &mut Builder) {
    if let [Segment::Gen(generator @ (Gen::Int(..) | Gen::Float(..) | Gen::Seq))] = segments.as_slice() {
        out.generator(generator.clone());
        return;
    }
    out.literal(b"\"");
    for segment in segments {
        match segment {
            Segment::Text(text) => out.literal(&escaped(text)),
            Segment::Gen(Gen::Choice(options)) => {
                let options = options.iter().map(|o| escaped(&String::from_utf8_lossy(o))).collect();
                out.generator(Gen::Choice(options));
            }
            // The other generators print ASCII that needs no escaping.
            Segment::Gen(generator) => out.generator(generator),
        }
    }
    out.literal(b"\"");
}

fn with_segment(path: &mut String, segment: &str, f: impl FnOnce(&mut String)) {
    let len = path.len();
    if !path.is_empty() {
        path.push('/');
    }
    path.push_str(segment);
    f(path);
    path.truncate(len);
}

fn json_string(text: &str) -> Vec<u8> {
    to_json(&Value::String(text.to_owned()))
}

fn to_json(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail (its keys are strings).
    serde_json::to_vec(value).unwrap_or_default()
}

/// `text` JSON-escaped, without the quotes.
fn escaped(text: &str) -> Vec<u8> {
    let quoted = json_string(text);
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_vec()
}

/// Splits a template string into text and generators.
fn parse(template: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut segments = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            segments.push(Segment::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("`{{{{` in `{template}` is not closed with `}}}}`"));
        };
        segments.push(Segment::Gen(parse_generator(&after[..close])?));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest));
    }
    Ok(segments)
}

fn parse_generator(inner: &str) -> Result<Gen, String> {
    let mut words = inner.split_whitespace();
    let Some(name) = words.next() else {
        return Err(format!("empty generator `{{{{{inner}}}}}`: use one of {}", GENERATORS.join(", ")));
    };
    let args: Vec<&str> = words.collect();
    let shown = format!("{{{{{}}}}}", inner.trim());
    let arity = |expected: usize, what: &str| {
        if args.len() == expected {
            Ok(())
        } else {
            Err(format!("`{shown}` takes {what}, not {} argument(s)", args.len()))
        }
    };
    match name {
        "int" => {
            arity(2, "2 arguments (lowest and highest)")?;
            let bound =
                |text: &str| text.parse::<i64>().map_err(|_| format!("`{shown}`: `{text}` is not a whole number"));
            let (low, high) = (bound(args[0])?, bound(args[1])?);
            if low > high {
                return Err(format!("`{shown}`: the lowest value {low} is above the highest {high}"));
            }
            Ok(Gen::Int(low, high))
        }
        "float" => {
            arity(2, "2 arguments (lowest and highest)")?;
            let bound = |text: &str| match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(value),
                _ => Err(format!("`{shown}`: `{text}` is not a finite number")),
            };
            let (low, high) = (bound(args[0])?, bound(args[1])?);
            if low > high {
                return Err(format!("`{shown}`: the lowest value {low} is above the highest {high}"));
            }
            if !(high - low).is_finite() {
                return Err(format!("`{shown}`: the range is too wide"));
            }
            Ok(Gen::Float(low, high))
        }
        "now" => arity(0, "no arguments").map(|()| Gen::Now),
        "uuid" => arity(0, "no arguments").map(|()| Gen::Uuid),
        "seq" => arity(0, "no arguments").map(|()| Gen::Seq),
        "choice" if args.is_empty() => Err(format!("`{shown}` needs at least one option")),
        "choice" => Ok(Gen::Choice(args.iter().map(|a| a.as_bytes().to_vec()).collect())),
        unknown => {
            let hint =
                did_you_mean(unknown, GENERATORS).unwrap_or_else(|| format!("use one of {}", GENERATORS.join(", ")));
            Err(format!("unknown generator `{unknown}` in `{shown}`: {hint}"))
        }
    }
}

/// Up to 6 decimals, trailing zeros trimmed but one kept (`0.5`, `3.0`), so the value still reads as a float.
fn write_float(value: f64, out: &mut Vec<u8>) {
    let start = out.len();
    let _ = write!(out, "{value:.6}");
    while out.len() > start + 1 && out.ends_with(b"0") && !out[..out.len() - 1].ends_with(b".") {
        out.pop();
    }
    if &out[start..] == b"-0.0" {
        out.remove(start);
    }
}

/// The current UTC time as `2026-11-29T15:04:05.123`, written digit by digit (chrono's formatter is slow).
fn now_text() -> [u8; 23] {
    let now = Utc::now().naive_utc();
    let mut text = *b"0000-00-00T00:00:00.000";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, now.year().clamp(0, 9999) as u32);
    put(5, 2, now.month());
    put(8, 2, now.day());
    put(11, 2, now.hour());
    put(14, 2, now.minute());
    // A leap second shows as :59.999 rather than :60.
    put(17, 2, now.second());
    put(20, 3, now.nanosecond().min(999_999_999) / 1_000_000);
    text
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn render_json(template: &Value, seed: u64, seq: u64) -> Result<Value, Box<dyn std::error::Error>> {
        let template = Template::json(template).map_err(|e| e.message)?;
        let mut out = Vec::new();
        template.render(&mut SmallRng::seed_from_u64(seed), seq, &mut out);
        Ok(serde_json::from_slice(&out)?)
    }

    #[test]
    fn int_and_float_stay_in_range_and_render_as_numbers() -> TestResult {
        for seed in 0..200 {
            let v =
                render_json(&json!({"i": "{{int -3 3}}", "f": "{{ float 0.5 1.5 }}", "one": "{{int 7 7}}"}), seed, 1)?;
            let i = v["i"].as_i64().ok_or("i is a number")?;
            assert!((-3..=3).contains(&i), "{i}");
            let f = v["f"].as_f64().ok_or("f is a number")?;
            assert!((0.5..=1.5).contains(&f), "{f}");
            assert_eq!(v["one"], json!(7));
        }
        Ok(())
    }

    #[test]
    fn floats_print_at_most_six_decimals() {
        let cases = [(0.5, "0.5"), (3.0, "3.0"), (1.0 / 3.0, "0.333333"), (-0.0000001, "0.0"), (-2.25, "-2.25")];
        for (value, expected) in cases {
            let mut out = Vec::new();
            write_float(value, &mut out);
            assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }

    #[test]
    fn text_around_a_generator_makes_a_string() -> TestResult {
        let v =
            render_json(&json!({"csv": "{{int 1 1}},{{int 2 2}}", "padded": " {{int 5 5}}", "n": "{{seq}}"}), 1, 42)?;
        assert_eq!(v, json!({"csv": "1,2", "padded": " 5", "n": 42}));
        Ok(())
    }

    #[test]
    fn literals_nesting_and_escaping_are_kept() -> TestResult {
        let template = json!({"b": true, "nul": null, "x": 1.5, "list": [1, "{{seq}}", {"q": "say \"hi\"\n"}],
                              "pick": "{{choice \"a\" b}}"});
        let v = render_json(&template, 3, 9)?;
        assert_eq!(v["b"], json!(true));
        assert_eq!(v["nul"], Value::Null);
        assert_eq!(v["x"], json!(1.5));
        assert_eq!(v["list"], json!([1, 9, {"q": "say \"hi\"\n"}]));
        assert!(v["pick"] == json!("\"a\"") || v["pick"] == json!("b"), "{}", v["pick"]);
        Ok(())
    }

    #[test]
    fn choice_picks_every_option() -> TestResult {
        let template = Template::text("{{choice red green blue}}")?;
        let mut rng = SmallRng::seed_from_u64(5);
        let mut seen: Vec<String> = (0..100).map(|_| template.render_string(&mut rng, 1)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["blue", "green", "red"]);
        Ok(())
    }

    #[test]
    fn now_is_utc_with_milliseconds() -> TestResult {
        let before = Utc::now().naive_utc();
        let text = Template::text("{{now}}")?.render_string(&mut SmallRng::seed_from_u64(0), 1);
        assert_eq!(text.len(), 23, "{text}");
        let parsed = chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.3f")?;
        assert!((parsed - before).num_seconds().abs() < 5, "{text} vs {before}");
        Ok(())
    }

    #[test]
    fn uuid_is_v4_and_seeded_output_is_reproducible() -> TestResult {
        let template = Template::json(&json!({"id": "{{uuid}}", "n": "{{float 0 100}}", "c": "{{choice a b c d}}"}))
            .map_err(|e| e.message)?;
        let render = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut out = Vec::new();
            for seq in 1..=10 {
                template.render(&mut rng, seq, &mut out);
            }
            out
        };
        assert_eq!(render(7), render(7));
        assert_ne!(render(7), render(8));
        let key = Template::uuid().render_string(&mut SmallRng::seed_from_u64(1), 1);
        let parsed = uuid::Uuid::parse_str(&key)?;
        assert_eq!(parsed.get_version_num(), 4);
        Ok(())
    }

    #[test]
    fn check_rejects_mistakes_with_a_clear_message() {
        assert_eq!(check("plain text, {{int 1 100}}, {{now}} {{uuid}} {{seq}} {{choice x}}"), Ok(()));
        let cases = [
            (
                "{{rand 1 5}}",
                "unknown generator `rand` in `{{rand 1 5}}`: use one of int, float, now, uuid, choice, seq",
            ),
            ("{{uuidd}}", "unknown generator `uuidd` in `{{uuidd}}`: did you mean `uuid`?"),
            ("{{int 5 1}}", "`{{int 5 1}}`: the lowest value 5 is above the highest 1"),
            ("{{int 1}}", "`{{int 1}}` takes 2 arguments (lowest and highest), not 1 argument(s)"),
            ("{{int a 1}}", "`{{int a 1}}`: `a` is not a whole number"),
            ("{{float 0 inf}}", "`{{float 0 inf}}`: `inf` is not a finite number"),
            ("{{now 1}}", "`{{now 1}}` takes no arguments, not 1 argument(s)"),
            ("{{choice}}", "`{{choice}}` needs at least one option"),
            ("{{ }}", "empty generator `{{ }}`: use one of int, float, now, uuid, choice, seq"),
            ("a {{int 1 2", "`{{` in `a {{int 1 2` is not closed with `}}`"),
        ];
        for (template, message) in cases {
            assert_eq!(check(template), Err(message.to_owned()), "{template}");
        }
    }

    #[test]
    fn check_json_reports_every_bad_string_with_its_path() {
        let errors = check_json(&json!({"a": "{{int 1 2}}", "b": ["ok", {"c": "{{nope}}"}], "d": "{{int 2 1}}"}));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["b/1/c", "d"]);
    }
}
