//! Validation: one implementation behind `sluice validate` and `cargo xtask validate`.
//!
//! Phases, per file; every phase reports all it finds, and a later phase runs only where the earlier ones
//! leave something it can trust:
//!
//! ```text
//! bytes ─▶ YAML (size cap, UTF-8, budgets, duplicate keys) ─▶ schema (jsonschema, pointer ─▶ line:col)
//!       ─▶ strings (`${VAR}` syntax, --env, literal secrets)
//!       ─▶ plugin hooks (ranges, files, links) ─▶ references (dangling, unused, cycles) ─▶ tests (names, records)
//! ```
//!
//! Validation does no network I/O and needs no credentials.

mod references;
mod schema_errors;
mod strings;
mod tests_section;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic, Position, Severity};
use crate::plugin::{IssueAt, Link, PluginKind, ValidateCx, find};
use crate::yaml::{self, Document, escape_pointer_segment};

/// Looks up an environment variable.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How to validate.
#[derive(Clone, Copy, Default)]
pub struct ValidateOptions<'a> {
    /// With `Some`, every `${VAR}` without a default must be set in this environment.
    pub env: Option<EnvLookup<'a>>,
}

impl ValidateOptions<'static> {
    /// Options for the command line: `--env` checks against this process's environment.
    pub fn from_env_flag(check_env: bool) -> Self {
        fn process_env(name: &str) -> Option<String> {
            std::env::var(name).ok()
        }
        ValidateOptions { env: check_env.then_some(&process_env as EnvLookup<'static>) }
    }
}

/// The result of validating some files.
#[derive(Debug, Default)]
pub struct Report {
    /// How many files were validated.
    pub files: usize,
    /// Every diagnostic, sorted by file, line, column and code.
    pub diagnostics: Vec<Diagnostic>,
    /// Each file's text, for rendering source lines.
    pub sources: BTreeMap<String, String>,
}

impl Report {
    /// The number of errors (warnings do not count).
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    /// Every diagnostic, rendered with its source line, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Files a pipeline refers to (a `code_file`) are read again here, only to show their lines.
        let mut referenced: BTreeMap<&str, Option<String>> = BTreeMap::new();
        for d in &self.diagnostics {
            let source = match self.sources.get(&d.path) {
                Some(source) => Some(source.as_str()),
                None => referenced
                    .entry(d.path.as_str())
                    .or_insert_with(|| std::fs::read_to_string(&d.path).ok())
                    .as_deref(),
            };
            out.push_str(&d.render(source));
            out.push('\n');
        }
        let errors = self.error_count();
        let noun = if self.files == 1 { "file" } else { "files" };
        if errors == 0 {
            out.push_str(&format!("{} {noun} valid\n", self.files));
        } else {
            let failed = self.diagnostics.iter().map(|d| &d.path).collect::<std::collections::BTreeSet<_>>().len();
            out.push_str(&format!("{errors} error(s) in {failed} of {} {noun}\n", self.files));
        }
        out
    }
}

/// A path that could not be searched or read: a usage or I/O error, not a validation finding.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct IoError {
    /// The path as given.
    pub path: String,
    /// What went wrong.
    pub source: std::io::Error,
}

/// The pipeline files under `paths`: files as given, directories searched for `*.yaml` and `*.yml`, sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IoError> {
    let mut files = Vec::new();
    for path in paths {
        let io = |source| IoError { path: path.display().to_string(), source };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            collect_yaml(path, &mut files).map_err(io)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Validates every pipeline file under `paths`.
pub fn validate_paths(paths: &[PathBuf], options: ValidateOptions<'_>) -> Result<Report, IoError> {
    let mut report = Report::default();
    for file in discover(paths)? {
        let bytes = std::fs::read(&file).map_err(|source| IoError { path: file.display().to_string(), source })?;
        let name = file.display().to_string();
        report.diagnostics.extend(validate_source(&name, &file, &bytes, options));
        report.sources.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        report.files += 1;
    }
    report.diagnostics.sort_by(|a, b| {
        (&a.path, a.position.line, a.position.column, a.code, &a.message).cmp(&(
            &b.path,
            b.position.line,
            b.position.column,
            b.code,
            &b.message,
        ))
    });
    Ok(report)
}

/// Validates `paths` (default `pipelines/`) and prints the report, as `sluice validate` and
/// `cargo xtask validate` both do: the report on stdout when valid, on stderr when not.
/// Returns the exit code: 0 valid, 1 invalid, 2 usage or I/O error.
pub fn run(paths: &[PathBuf], options: ValidateOptions<'_>) -> u8 {
    let default = [PathBuf::from("pipelines")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    match validate_paths(paths, options) {
        Ok(report) if report.error_count() == 0 => {
            print!("{}", report.render());
            0
        }
        Ok(report) => {
            eprint!("{}", report.render());
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// Validates one file's bytes; `file` locates files it refers to (relative to its directory).
pub fn validate_source(name: &str, file: &Path, bytes: &[u8], options: ValidateOptions<'_>) -> Vec<Diagnostic> {
    check_source(name, file, bytes, options).0
}

/// A pipeline that passed validation: its document and the links between its entries, ready to run.
#[derive(Debug)]
pub struct Validated {
    /// The document as loaded (before `${VAR}` resolution).
    pub value: Value,
    /// Every link an entry declared: the entry's kind and name, and the link.
    pub links: Vec<(PluginKind, String, Link)>,
}

/// Validates one file's bytes like [`validate_source`]; when there are no errors, also returns what
/// running it needs, so the runtime never re-reads or re-parses the file.
pub fn check_source(
    name: &str,
    file: &Path,
    bytes: &[u8],
    options: ValidateOptions<'_>,
) -> (Vec<Diagnostic>, Option<Validated>) {
    let doc = match yaml::load(bytes) {
        Ok(doc) => doc,
        Err(e) => return (vec![Diagnostic::error(name, e.position, e.code, e.message)], None),
    };
    // `load` has checked the bytes are UTF-8: borrow them as text rather than copy them.
    let source = std::str::from_utf8(bytes).unwrap_or_default();
    let mut out = Findings { name, source, doc: &doc, diagnostics: Vec::new() };
    let untyped = check_types(&mut out);
    let schema_failures = schema_errors::check(&mut out, &untyped);
    strings::check(&mut out, options);
    // A hook needs its entry to match its schema; the references need every entry's links.
    let trusted =
        |pointer: &str| !schema_failures.iter().any(|f| f == pointer || f.starts_with(&format!("{pointer}/")));
    let base_dir = file.parent().unwrap_or(Path::new("."));
    let links = run_plugin_hooks(&mut out, base_dir, &trusted);
    // Entries the schema rejected declared no links, so "unused" is only sure when every entry passed.
    let complete = schema_failures.is_empty() && untyped.is_empty();
    let sections_are_mappings = PluginKind::ALL.iter().all(|k| doc.value.get(k.section()).is_none_or(Value::is_object))
        && doc.value.is_object();
    if sections_are_mappings {
        references::check(&mut out, &links, complete);
    }
    if doc.value.is_object() {
        tests_section::check(&mut out);
    }
    let failed = out.diagnostics.iter().any(|d| d.severity == Severity::Error);
    let diagnostics = out.diagnostics;
    let validated = (!failed).then_some(Validated { value: doc.value, links });
    (diagnostics, validated)
}

/// Findings for one document, positioned through its pointer map.
pub(crate) struct Findings<'a> {
    name: &'a str,
    source: &'a str,
    doc: &'a Document,
    diagnostics: Vec<Diagnostic>,
}

impl Findings<'_> {
    fn at(&mut self, position: Position, code: Code, message: impl Into<String>, help: Option<String>) {
        self.diagnostics.push(Diagnostic::error(self.name, position, code, message).with_help(help));
    }

    /// An error at the value `pointer` names.
    fn value_error(&mut self, pointer: &str, code: Code, message: impl Into<String>, help: Option<String>) {
        let position = self.doc.positions.value(pointer);
        self.at(position, code, message, help);
    }

    /// An error at the key whose value `pointer` names.
    fn key_error(&mut self, pointer: &str, code: Code, message: impl Into<String>, help: Option<String>) {
        let position = self.doc.positions.key(pointer);
        self.at(position, code, message, help);
    }
}

/// Each section entry of the document: kind, name, pointer and the entry itself.
fn entries(doc: &Document) -> impl Iterator<Item = (PluginKind, &str, String, &Value)> {
    PluginKind::ALL.into_iter().flat_map(move |kind| {
        doc.value.get(kind.section()).and_then(Value::as_object).into_iter().flatten().map(move |(name, entry)| {
            (kind, name.as_str(), format!("/{}/{}", kind.section(), escape_pointer_segment(name)), entry)
        })
    })
}

/// How a JSON value is named in messages.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reports entries whose `type` names no plugin; returns their pointers so the schema phase skips them.
fn check_types(out: &mut Findings<'_>) -> Vec<String> {
    let mut unknown = Vec::new();
    for (kind, name, pointer, entry) in entries(out.doc) {
        let known: Vec<&str> = crate::plugin::plugins_of(kind).map(|p| p.name).collect();
        let listing = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        let type_help = format!("`type` is one of {listing}");
        let Some(object) = entry.as_object() else {
            let message =
                format!("{} `{name}` must be a mapping with a `type`, found {}", kind.noun(), describe(entry));
            out.value_error(&pointer, Code::WrongType, message, Some(type_help));
            unknown.push(pointer);
            continue;
        };
        match object.get("type") {
            None => {
                out.key_error(
                    &pointer,
                    Code::MissingKey,
                    format!("{} `{name}` has no `type`", kind.noun()),
                    Some(type_help),
                );
            }
            Some(Value::String(t)) if find(kind, t).is_some() => continue,
            Some(Value::String(t)) => {
                let help = crate::suggest::did_you_mean(t, known.iter().copied()).or_else(|| Some(type_help.clone()));
                out.value_error(
                    &format!("{pointer}/type"),
                    Code::UnknownType,
                    format!("unknown {} type `{t}`", kind.noun()),
                    help,
                );
            }
            Some(_) => {
                out.value_error(
                    &format!("{pointer}/type"),
                    Code::WrongType,
                    "`type` must be a string",
                    Some(type_help),
                );
            }
        }
        unknown.push(pointer);
    }
    unknown
}

/// Runs each entry's plugin validate hook; returns every link, with the entry it comes from.
fn run_plugin_hooks(
    out: &mut Findings<'_>,
    base_dir: &Path,
    trusted: &dyn Fn(&str) -> bool,
) -> Vec<(PluginKind, String, Link)> {
    let mut links = Vec::new();
    for (kind, name, pointer, entry) in entries(out.doc) {
        if !trusted(&pointer) {
            continue;
        }
        let Some(mut config) = entry.as_object().cloned() else {
            continue;
        };
        let Some(plugin) = config.remove("type").and_then(|t| t.as_str().and_then(|t| find(kind, t))) else {
            continue;
        };
        let mut cx = ValidateCx::new(base_dir, pointer).with_document(&out.doc.value);
        plugin.validate(&Value::Object(config), &mut cx);
        let (issues, entry_links) = cx.finish();
        for issue in issues {
            match issue.at {
                IssueAt::Value => out.value_error(&issue.pointer, issue.code, issue.message, issue.help),
                IssueAt::Inside(offset) => {
                    let text = out.doc.value.pointer(&issue.pointer).and_then(Value::as_str).unwrap_or_default();
                    let position = strings::inside(out, &issue.pointer, text, offset);
                    out.at(position, issue.code, issue.message, issue.help);
                }
                IssueAt::File { path, position } => out
                    .diagnostics
                    .push(Diagnostic::error(&path, position, issue.code, issue.message).with_help(issue.help)),
            }
        }
        links.extend(entry_links.into_iter().map(|l| (kind, name.to_owned(), l)));
    }
    links
}
