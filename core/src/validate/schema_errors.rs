//! The schema phase: the document against the generated schema, each error mapped to a line and column.
//!
//! A section entry matches a `oneOf` over the plugins of its kind. jsonschema reports a failed `oneOf` as one
//! error holding every branch's errors; we report the errors of the branch whose `type` the entry names, since
//! "matches none of 9 schemas" helps nobody.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

use super::{Findings, describe};
use crate::diagnostic::Code;
use crate::plugin::{PluginKind, plugins_of};
use crate::schema::pipeline_schema;
use crate::spec::NAME_PATTERN;
use crate::suggest::did_you_mean;
use crate::units::{BYTE_SIZE_PATTERN, ByteSize, DURATION_PATTERN, Duration};
use crate::yaml::escape_pointer_segment;

fn validator() -> Result<&'static Validator, &'static str> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .build(pipeline_schema())
                .map_err(|e| format!("internal error: the generated schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Reports every schema error outside the entries in `skip`; returns the instance pointer of every error.
pub(super) fn check(out: &mut Findings<'_>, skip: &[String]) -> Vec<String> {
    let validator = match validator() {
        Ok(v) => v,
        Err(message) => {
            out.value_error("", Code::InvalidValue, message, None);
            return vec![String::new()];
        }
    };
    let mut failed = Vec::new();
    for error in validator.iter_errors(&out.doc.value) {
        let pointer = error.instance_path().as_str();
        failed.push(pointer.to_owned());
        if skip.iter().any(|s| pointer == s || pointer.starts_with(&format!("{s}/"))) {
            continue;
        }
        report(out, &error);
    }
    failed
}

fn type_name(kind: &TypeKind) -> String {
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "an integer".to_owned(),
        other => format!("a {other}"),
    };
    match kind {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

/// The value of `key` in the schema object holding the keyword at `keyword_path` (its siblings).
fn sibling(keyword_path: &str, key: &str) -> Option<&'static Value> {
    let parent = keyword_path.rsplit_once('/').map_or("", |(p, _)| p);
    pipeline_schema().pointer(&format!("{parent}/{key}"))
}

/// The `x-range` annotation (`[min, max]`) of a ranged duration or size.
fn range_of(keyword_path: &str) -> Option<[&'static str; 2]> {
    match sibling(keyword_path, "x-range")?.as_array()?.as_slice() {
        [min, max] => Some([min.as_str()?, max.as_str()?]),
        _ => None,
    }
}

/// The keys the schema object allows, for "did you mean".
fn allowed_keys(keyword_path: &str) -> Vec<&'static str> {
    sibling(keyword_path, "properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Reports `text` if it is not a well-formed duration (or size); returns whether it reported.
fn report_malformed_unit(out: &mut Findings<'_>, pointer: &str, text: &str, is_duration: bool) -> bool {
    let (code, error) = if is_duration {
        (Code::InvalidDuration, text.parse::<Duration>().err())
    } else {
        (Code::InvalidSize, text.parse::<ByteSize>().err())
    };
    error.map(|e| out.value_error(pointer, code, e.to_string(), None)).is_some()
}

/// The branch of a section entry's `oneOf` that its `type` selects.
fn selected_branch(pointer: &str, instance: &Value) -> Option<usize> {
    let mut segments = pointer.split('/').skip(1);
    let section = segments.next()?;
    segments.next()?;
    if segments.next().is_some() {
        return None;
    }
    let kind = PluginKind::ALL.into_iter().find(|k| k.section() == section)?;
    let type_name = instance.get("type")?.as_str()?;
    plugins_of(kind).position(|p| p.name == type_name)
}

/// For an optional value (`anyOf: [T, null]`), the errors against `T`: "not null" helps nobody.
fn only_non_null_branch<'a>(context: &'a [Vec<ValidationError<'static>>]) -> Option<&'a [ValidationError<'static>]> {
    let is_null_branch = |branch: &Vec<ValidationError<'static>>| matches!(branch.as_slice(), [only] if matches!(only.kind(), ValidationErrorKind::Type { kind: TypeKind::Single(t) } if t.to_string() == "null"));
    let mut others = context.iter().filter(|b| !is_null_branch(b));
    match (others.next(), others.next()) {
        (Some(branch), None) if context.len() > 1 => Some(branch),
        _ => None,
    }
}

/// The allowed values of a `oneOf` whose branches are all constants (how schemars writes documented enums).
fn constants<'a>(context: &'a [Vec<ValidationError<'static>>]) -> Option<Vec<&'a str>> {
    context
        .iter()
        .map(|branch| match branch.as_slice() {
            [only] => match only.kind() {
                ValidationErrorKind::Constant { expected_value } => expected_value.as_str(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn not_one_of(out: &mut Findings<'_>, pointer: &str, instance: &Value, choices: &[&str]) {
    let found = instance.as_str().map_or_else(|| instance.to_string(), str::to_owned);
    let help = did_you_mean(&found, choices.iter().copied());
    let listing = choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    out.value_error(pointer, Code::InvalidValue, format!("`{found}` is not one of {listing}"), help);
}

/// "`shards`" for `/streams/s/shards`, "item 2 of `columns`" for `/…/columns/2`.
fn field_name(pointer: &str) -> String {
    let mut segments = pointer.rsplit('/');
    match (segments.next(), segments.next()) {
        (Some(index), Some(list)) if index.parse::<usize>().is_ok() => format!("item {index} of `{list}`"),
        (Some(key), _) => format!("`{}`", key.replace("~1", "/").replace("~0", "~")),
        _ => "the value".to_owned(),
    }
}

fn report(out: &mut Findings<'_>, error: &ValidationError<'_>) {
    let pointer = error.instance_path().as_str();
    let instance = error.instance();
    match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            match selected_branch(pointer, instance).and_then(|i| context.get(i)) {
                Some(branch) => branch.iter().for_each(|e| report(out, e)),
                None => match (constants(context), only_non_null_branch(context)) {
                    (Some(choices), _) => not_one_of(out, pointer, instance, &choices),
                    (None, Some(branch)) => branch.iter().for_each(|e| report(out, e)),
                    (None, None) => out.value_error(pointer, Code::InvalidValue, error.to_string(), None),
                },
            }
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(error.schema_path().as_str());
            for key in unexpected {
                let help = did_you_mean(key, allowed.iter().copied())
                    .or_else(|| (!allowed.is_empty()).then(|| format!("allowed keys: {}", allowed.join(", "))));
                let at = format!("{pointer}/{}", escape_pointer_segment(key));
                out.key_error(&at, Code::UnknownKey, format!("unknown key `{key}`"), help);
            }
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            out.value_error(pointer, Code::MissingKey, format!("missing required key `{key}`"), None);
        }
        ValidationErrorKind::Type { kind } => {
            let message = format!("expected {}, found {}", type_name(kind), describe(instance));
            out.value_error(pointer, Code::WrongType, message, None);
        }
        ValidationErrorKind::Pattern { pattern } => {
            let text = instance.as_str().unwrap_or_default();
            if pattern == DURATION_PATTERN || pattern == BYTE_SIZE_PATTERN {
                report_malformed_unit(out, pointer, text, pattern == DURATION_PATTERN);
            } else if pattern == NAME_PATTERN {
                let at = format!("{pointer}/{}", escape_pointer_segment(text));
                let message = format!("invalid name `{text}`: use 1-128 letters, digits, `_`, `.` or `-`");
                out.key_error(&at, Code::InvalidValue, message, None);
            } else if let Some([min, max]) = range_of(error.schema_path().as_str()) {
                // A ranged duration or size: say whether it is malformed or out of range.
                if !report_malformed_unit(out, pointer, text, min.parse::<Duration>().is_ok()) {
                    let message = format!("{} is {text}, outside {min} to {max}", field_name(pointer));
                    let help = sibling(error.schema_path().as_str(), "description").and_then(Value::as_str);
                    out.value_error(pointer, Code::OutOfRange, message, help.map(str::to_owned));
                }
            } else {
                out.value_error(
                    pointer,
                    Code::InvalidValue,
                    format!("`{text}` does not match the pattern `{pattern}`"),
                    None,
                );
            }
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<&str> = options.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            not_one_of(out, pointer, instance, &choices);
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            let field = field_name(pointer);
            out.value_error(
                pointer,
                Code::OutOfRange,
                format!("{field} is {instance}, below the minimum of {limit}"),
                None,
            );
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let field = field_name(pointer);
            out.value_error(
                pointer,
                Code::OutOfRange,
                format!("{field} is {instance}, above the maximum of {limit}"),
                None,
            );
        }
        ValidationErrorKind::PropertyNames { error } => report(out, error),
        _ => out.value_error(pointer, Code::InvalidValue, error.to_string(), None),
    }
}
