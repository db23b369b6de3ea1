//! The pipeline JSON schema (draft 2020-12), generated from the spec and every registered plugin.
//!
//! Each section maps names to a `oneOf` over the plugins of its kind, in registry (sorted) order; each branch is
//! the plugin's config schema with a `type` constant added, and unknown keys rejected.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::plugin::{PluginKind, plugins_of};
use crate::spec::{PipelineSpec, kind_def_name};

/// Where the committed schema lives, relative to the workspace root.
pub const SCHEMA_PATH: &str = "schemas/pipeline.schema.json";

/// The pipeline schema as JSON.
pub fn pipeline_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(generate)
}

/// The schema as it is committed: pretty-printed, with a trailing newline.
pub fn pipeline_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(pipeline_schema()).unwrap_or_default();
    text.push('\n');
    text
}

fn generate() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut root = generator.root_schema_for::<PipelineSpec>().to_value();
    let mut defs = root.get_mut("$defs").and_then(Value::as_object_mut).map(std::mem::take).unwrap_or_default();
    for kind in PluginKind::ALL {
        let branches: Vec<Value> = plugins_of(kind)
            .map(|plugin| {
                let mut branch = (plugin.schema)(&mut generator).to_value();
                tag_branch(&mut branch, kind, plugin.name);
                branch
            })
            .collect();
        let types: Vec<&str> = plugins_of(kind).map(|p| p.name).collect();
        defs.insert(
            kind_def_name(kind).to_owned(),
            json!({
                "description": format!("{}: `type` is one of {}.", kind_def_name(kind), types.join(", ")),
                "type": "object",
                "required": ["type"],
                "properties": { "type": { "enum": types } },
                "oneOf": branches,
            }),
        );
    }
    defs.extend(generator.take_definitions(true));
    let object = root.as_object_mut().expect("a root schema is an object");
    object.insert("$id".into(), json!("https://sluice.dev/schemas/pipeline.schema.json"));
    object.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
    root
}

fn tag_branch(branch: &mut Value, kind: PluginKind, name: &str) {
    let Some(object) = branch.as_object_mut() else {
        return;
    };
    object.insert("title".into(), json!(format!("{} `{name}`", kind.noun())));
    object.insert("additionalProperties".into(), json!(false));
    let properties = object.entry("properties").or_insert_with(|| json!({}));
    if let Some(properties) = properties.as_object_mut() {
        let mut tagged = serde_json::Map::new();
        tagged.insert("type".into(), json!({ "const": name, "description": format!("Plugin type: `{name}`.") }));
        tagged.extend(std::mem::take(properties));
        *properties = tagged;
    }
    let required = object.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        required.insert(0, json!("type"));
    }
}
