//! One pipeline file loaded for the read-only commands (`graph`, `explain`): read, validated, `${VAR}`s
//! resolved where the environment allows. Errors are printed naming the file; the caller exits with the code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;
use sluice_core::interpolate::resolve_value;
use sluice_core::plugin::{Link, PluginKind};
use sluice_core::validate::{self, Report, ValidateOptions};

/// A valid pipeline file.
pub struct PipelineFile {
    /// The path as the user gave it, for messages.
    pub shown: String,
    /// The document; `${VAR}`s resolved when every one is set or defaulted, else as written.
    pub value: Value,
    /// Every link an entry declared: the entry's kind and name, and the link.
    pub links: Vec<(PluginKind, String, Link)>,
    /// The directory relative paths in the file (`code_file`) are resolved against.
    pub base_dir: PathBuf,
}

impl PipelineFile {
    /// Reads and validates `path`: exit code 2 for an unreadable file, 1 for an invalid one (its diagnostics
    /// printed to stderr, each naming the file).
    pub fn load(path: &Path) -> Result<PipelineFile, ExitCode> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            eprintln!("error: {shown}: {e}");
            ExitCode::from(2)
        })?;
        let (diagnostics, validated) = validate::check_source(&shown, path, &bytes, ValidateOptions::default());
        if !diagnostics.is_empty() {
            let sources = [(shown.clone(), String::from_utf8_lossy(&bytes).into_owned())].into();
            eprint!("{}", Report { files: 1, diagnostics, sources }.render());
        }
        let validated = validated.ok_or(ExitCode::from(1))?;
        // A picture or an estimate does not need every variable: an unset one stays as written.
        let mut value = validated.value.clone();
        if resolve_value(&mut value, &|var| std::env::var(var).ok()).is_err() {
            value = validated.value;
        }
        let base_dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| ".".into(), PathBuf::from);
        Ok(PipelineFile { shown, value, links: validated.links, base_dir })
    }

    /// The pipeline's `name`, or the file's stem.
    pub fn name(&self) -> String {
        self.value.get("name").and_then(Value::as_str).map_or_else(|| self.shown.clone(), str::to_owned)
    }

    /// The entries of a section (`producers`, ...), sorted by name, with their `type`.
    pub fn entries(&self, kind: PluginKind) -> Vec<Entry<'_>> {
        let section = self.value.get(kind.section()).and_then(Value::as_object);
        section
            .into_iter()
            .flatten()
            .map(|(name, config)| Entry {
                name,
                plugin: config.get("type").and_then(Value::as_str).unwrap_or_default(),
                config,
            })
            .collect()
    }

    /// The targets of the links of `role` that the entry `name` of `kind` declared.
    pub fn targets(&self, kind: PluginKind, name: &str, role: sluice_core::plugin::LinkRole) -> Vec<&str> {
        self.links
            .iter()
            .filter(|(k, n, link)| *k == kind && n == name && link.role == role)
            .map(|(_, _, link)| link.target.as_str())
            .collect()
    }
}

/// One entry of a section.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    /// Its name (the key in the section).
    pub name: &'a str,
    /// Its `type`.
    pub plugin: &'a str,
    /// Its config, `type` included.
    pub config: &'a Value,
}

impl Entry<'_> {
    /// The config as a plugin's config type (without `type`), or a message naming the entry.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        let mut config = self.config.as_object().cloned().unwrap_or_default();
        config.remove("type");
        serde_json::from_value(Value::Object(config)).map_err(|e| format!("`{}`: {e}", self.name))
    }
}
