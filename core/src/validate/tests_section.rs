//! The `tests` phase: what a pipeline test names exists, each record is `data` or `raw` at a time that parses,
//! and each expectation is a `stream` with `rows` or a `destination` with `records`. In-app stream names
//! belong to the applications' SQL: `sluice test` checks them.

use serde_json::Value;

use super::Findings;
use crate::diagnostic::Code;
use crate::plugin::PluginKind;
use crate::spec::PipelineTest;
use crate::suggest::did_you_mean;

fn names(out: &Findings<'_>, kind: PluginKind) -> Vec<String> {
    out.doc
        .value
        .get(kind.section())
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Reports a name of `kind` that is not defined.
fn check_name(out: &mut Findings<'_>, pointer: &str, kind: PluginKind, name: &str) {
    let known = names(out, kind);
    if known.iter().any(|k| k == name) {
        return;
    }
    let help = did_you_mean(name, known.iter().map(String::as_str)).unwrap_or_else(|| {
        let defined = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        format!("{} defined: {defined}", kind.section())
    });
    out.value_error(pointer, Code::DanglingReference, format!("no {} named `{name}`", kind.noun()), Some(help));
}

/// Checks the `tests` section; does nothing when the schema phase rejected it.
pub(super) fn check(out: &mut Findings<'_>) {
    let Some(tests) = out.doc.value.get("tests") else { return };
    let Ok(tests) = serde_json::from_value::<Vec<PipelineTest>>(tests.clone()) else { return };
    for (t, test) in tests.iter().enumerate() {
        for (i, input) in test.input.iter().enumerate() {
            let pointer = format!("/tests/{t}/input/{i}");
            check_name(out, &format!("{pointer}/stream"), PluginKind::Stream, &input.stream);
            for (r, record) in input.records.iter().enumerate() {
                let pointer = format!("{pointer}/records/{r}");
                match (&record.data, &record.raw) {
                    (Some(_), Some(_)) => out.key_error(
                        &format!("{pointer}/raw"),
                        Code::InvalidValue,
                        "give `data` or `raw`, not both",
                        None,
                    ),
                    (None, None) => out.value_error(
                        &pointer,
                        Code::MissingKey,
                        "a test record needs `data` (a JSON object) or `raw` (text)",
                        None,
                    ),
                    _ => {}
                }
                if record.at_ms().is_none() {
                    out.value_error(
                        &format!("{pointer}/at"),
                        Code::InvalidValue,
                        format!("`{}` is not a time", record.at),
                        Some("write an RFC 3339 time such as `2020-07-01T12:00:00.000Z`".into()),
                    );
                }
            }
        }
        for (e, expect) in test.expect.iter().enumerate() {
            let pointer = format!("/tests/{t}/expect/{e}");
            if let Some(application) = &expect.application {
                check_name(out, &format!("{pointer}/application"), PluginKind::Application, application);
            }
            match (&expect.stream, &expect.destination) {
                (Some(_), Some(_)) => out.key_error(
                    &format!("{pointer}/destination"),
                    Code::InvalidValue,
                    "give `stream` or `destination`, not both",
                    None,
                ),
                (None, None) => out.value_error(
                    &pointer,
                    Code::MissingKey,
                    "an expectation needs a `stream` (with `rows`) or a `destination` (with `records`)",
                    None,
                ),
                (Some(_), None) => {
                    if expect.records.is_some() {
                        out.key_error(
                            &format!("{pointer}/records"),
                            Code::InvalidValue,
                            "a `stream` expects `rows`; `records` are for a `destination`",
                            None,
                        );
                    } else if expect.rows.is_none() {
                        out.key_error(
                            &format!("{pointer}/stream"),
                            Code::MissingKey,
                            "expected `rows` are missing",
                            None,
                        );
                    }
                }
                (None, Some(destination)) => {
                    check_name(out, &format!("{pointer}/destination"), PluginKind::Destination, destination);
                    if expect.rows.is_some() {
                        out.key_error(
                            &format!("{pointer}/rows"),
                            Code::InvalidValue,
                            "a `destination` expects `records`; `rows` are for a `stream`",
                            None,
                        );
                    } else if expect.records.is_none() {
                        out.key_error(
                            &format!("{pointer}/destination"),
                            Code::MissingKey,
                            "expected `records` are missing",
                            None,
                        );
                    }
                }
            }
        }
    }
}
