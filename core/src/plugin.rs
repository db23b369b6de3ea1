//! The plugin registry: every producer, stream, application and destination type registers here.
//!
//! A plugin is a config type implementing [`PluginConfig`] (serde + schemars), registered once with
//! [`register_plugin!`](crate::register_plugin), which carries the `type` name exactly once. The registry is
//! collected by `inventory` at link time and always iterated sorted by kind, then name, so the generated
//! schema and every listing are stable. Core never names a plugin: it only walks this registry.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::{Code, Position};
use crate::runtime::component::{Application, Destination, Producer};
use crate::runtime::ledger::Ledger;
use crate::runtime::stream::Stream;
use crate::yaml::escape_pointer_segment;

/// The four stages of a pipeline; each is a section of the pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    /// Puts records into a stream.
    Producer,
    /// A durable, sharded log of records.
    Stream,
    /// Reads a stream, transforms it, feeds destinations.
    Application,
    /// Delivers records somewhere outside.
    Destination,
}

impl PluginKind {
    /// All kinds, in data-flow order.
    pub const ALL: [PluginKind; 4] =
        [PluginKind::Producer, PluginKind::Stream, PluginKind::Application, PluginKind::Destination];

    /// The pipeline file's section for this kind (`producers`, ...).
    pub const fn section(self) -> &'static str {
        match self {
            PluginKind::Producer => "producers",
            PluginKind::Stream => "streams",
            PluginKind::Application => "applications",
            PluginKind::Destination => "destinations",
        }
    }

    /// The singular noun used in messages (`producer`, ...).
    pub const fn noun(self) -> &'static str {
        match self {
            PluginKind::Producer => "producer",
            PluginKind::Stream => "stream",
            PluginKind::Application => "application",
            PluginKind::Destination => "destination",
        }
    }
}

/// A plugin's config type: what a pipeline file says under one entry, minus `type`.
pub trait PluginConfig: DeserializeOwned + JsonSchema {
    /// Checks what the schema cannot (ranges across units, file references, ...) and declares the entry's
    /// links to other entries. Pure: no network, no credentials; it may look at files beside the pipeline.
    fn validate(&self, cx: &mut ValidateCx<'_>);

    /// Turns a validated config into a running component.
    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError>;
}

/// Where a pipeline is being built.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The directory of the pipeline file; relative paths resolve against it.
    pub base_dir: PathBuf,
    /// The pipeline's data directory (stream segments, the ledger).
    pub data_dir: PathBuf,
    /// The pipeline's ledger, where state that must survive a restart lives.
    pub ledger: Arc<Ledger>,
    /// The entry's name in its section.
    pub name: String,
}

/// A component ready to run, as a plugin builds it; the runtime connects it to the others.
pub enum Built {
    /// A producer.
    Producer(Box<dyn Producer>),
    /// A stream, shared by its writers and readers.
    Stream(Arc<dyn Stream>),
    /// An application.
    Application(Box<dyn Application>),
    /// A destination.
    Destination(Box<dyn Destination>),
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Built::Producer(_) => "producer",
            Built::Stream(_) => "stream",
            Built::Application(_) => "application",
            Built::Destination(_) => "destination",
        };
        write!(f, "Built::{kind}")
    }
}

/// Why a component could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The component's runtime does not exist yet in this version of sluice.
    #[error("running {kind} type `{name}` is not built yet")]
    NotBuiltYet {
        /// The component's kind.
        kind: &'static str,
        /// The plugin's type name.
        name: &'static str,
    },
    /// The config was rejected.
    #[error("{0}")]
    Config(String),
    /// Opening what the component needs (files, the stream's storage, a client) failed.
    #[error("{0}")]
    Open(String),
}

/// One registered plugin.
pub struct PluginDescriptor {
    /// Its kind.
    pub kind: PluginKind,
    /// Its `type` name in pipeline files.
    pub name: &'static str,
    /// The JSON schema of its config (without `type`, which the registry adds).
    pub schema: fn(&mut SchemaGenerator) -> Schema,
    validate: fn(&Value, &mut ValidateCx<'_>),
    build: fn(&Value, &BuildContext) -> Result<Built, BuildError>,
}

impl std::fmt::Debug for PluginDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.kind.noun(), self.name)
    }
}

impl PluginDescriptor {
    /// A descriptor for config type `C`; use [`register_plugin!`](crate::register_plugin) rather than this.
    pub const fn new<C: PluginConfig>(kind: PluginKind, name: &'static str) -> Self {
        PluginDescriptor { kind, name, schema: C::json_schema, validate: validate_typed::<C>, build: build_typed::<C> }
    }

    /// Runs the plugin's validate hook on an entry's config (the entry without `type`).
    pub fn validate(&self, config: &Value, cx: &mut ValidateCx<'_>) {
        (self.validate)(config, cx);
    }

    /// Runs the plugin's build hook on an entry's config (the entry without `type`).
    pub fn build(&self, config: &Value, cx: &BuildContext) -> Result<Built, BuildError> {
        (self.build)(config, cx)
    }
}

fn validate_typed<C: PluginConfig>(config: &Value, cx: &mut ValidateCx<'_>) {
    match C::deserialize(config) {
        Ok(typed) => typed.validate(cx),
        // Only reached when the schema let through what serde refuses; report it rather than lose it.
        Err(e) => cx.error("", Code::InvalidValue, e.to_string()),
    }
}

fn build_typed<C: PluginConfig>(config: &Value, cx: &BuildContext) -> Result<Built, BuildError> {
    C::deserialize(config).map_err(|e| BuildError::Config(e.to_string()))?.build(cx)
}

inventory::collect!(PluginDescriptor);

/// Registers a plugin: `register_plugin!(Producer, "datagen", DatagenConfig);`. The name is written here only.
#[macro_export]
macro_rules! register_plugin {
    ($kind:ident, $name:literal, $config:ty) => {
        $crate::inventory::submit! {
            $crate::plugin::PluginDescriptor::new::<$config>($crate::plugin::PluginKind::$kind, $name)
        }
    };
}

/// Every registered plugin, sorted by kind, then name.
pub fn registry() -> &'static [&'static PluginDescriptor] {
    static SORTED: OnceLock<Vec<&'static PluginDescriptor>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut all: Vec<_> = inventory::iter::<PluginDescriptor>.into_iter().collect();
        all.sort_by_key(|p| (p.kind, p.name));
        all
    })
}

/// The registered plugins of one kind, sorted by name.
pub fn plugins_of(kind: PluginKind) -> impl Iterator<Item = &'static PluginDescriptor> {
    registry().iter().copied().filter(move |p| p.kind == kind)
}

/// The plugin of `kind` named `name`.
pub fn find(kind: PluginKind, name: &str) -> Option<&'static PluginDescriptor> {
    plugins_of(kind).find(|p| p.name == name)
}

/// What an entry's data flow connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRole {
    /// Reads records from a stream.
    ReadsStream,
    /// Writes records into a stream.
    WritesStream,
    /// Sends its output to a destination.
    FeedsDestination,
    /// The entry itself (a stream) may be read by readers outside the pipeline, so nothing inside need read it.
    ReadOutside,
}

/// A reference from one entry to another, found by the entry's validate hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// How the entry uses the target.
    pub role: LinkRole,
    /// The target's name.
    pub target: String,
    /// JSON pointer of the referring value.
    pub pointer: String,
}

/// Where in the files a finding of a validate hook is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueAt {
    /// The value at the issue's pointer.
    Value,
    /// Character `offset` inside the string at the issue's pointer (an inline SQL `code:` block).
    Inside(usize),
    /// Another file the entry refers to (a `code_file`), at a position of its own.
    File {
        /// The file as shown to the user (the pipeline's directory joined with the name as written).
        path: String,
        /// Where in that file.
        position: Position,
    },
}

/// A finding of a validate hook, at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// JSON pointer into the document.
    pub pointer: String,
    /// Where exactly.
    pub at: IssueAt,
    /// What kind of finding.
    pub code: Code,
    /// One sentence.
    pub message: String,
    /// An optional hint.
    pub help: Option<String>,
}

/// What a validate hook sees and reports to.
pub struct ValidateCx<'a> {
    base_dir: &'a Path,
    pointer: String,
    document: Option<&'a Value>,
    pub(crate) issues: Vec<Issue>,
    pub(crate) links: Vec<Link>,
}

impl<'a> ValidateCx<'a> {
    /// A context for the entry at `pointer`, with relative paths resolved against `base_dir`.
    pub fn new(base_dir: &'a Path, pointer: String) -> Self {
        ValidateCx { base_dir, pointer, document: None, issues: Vec::new(), links: Vec::new() }
    }

    /// Gives the hook read access to the whole pipeline document, for checks that span entries (a destination
    /// that needs something of what feeds it).
    pub fn with_document(mut self, document: &'a Value) -> Self {
        self.document = Some(document);
        self
    }

    /// The whole pipeline document (`Value::Null` when the caller gave none): read other entries, report only on
    /// this one.
    pub fn document(&self) -> &'a Value {
        self.document.unwrap_or(&Value::Null)
    }

    /// The name of the entry being checked: the last segment of its pointer (`/destinations/bucket` -> `bucket`).
    pub fn entry_name(&self) -> Option<String> {
        let (_, last) = self.pointer.rsplit_once('/')?;
        Some(last.replace("~1", "/").replace("~0", "~"))
    }

    /// The pointer of `field` (a `/`-separated path relative to the entry; `""` is the entry itself).
    pub fn pointer(&self, field: &str) -> String {
        if field.is_empty() {
            self.pointer.clone()
        } else {
            let escaped: Vec<_> = field.split('/').map(escape_pointer_segment).collect();
            format!("{}/{}", self.pointer, escaped.join("/"))
        }
    }

    /// Reports an error at `field`.
    pub fn error(&mut self, field: &str, code: Code, message: impl Into<String>) {
        let pointer = self.pointer(field);
        self.issues.push(Issue { pointer, at: IssueAt::Value, code, message: message.into(), help: None });
    }

    /// Reports an error at `field` with a hint.
    pub fn error_with_help(&mut self, field: &str, code: Code, message: impl Into<String>, help: impl Into<String>) {
        let pointer = self.pointer(field);
        self.issues.push(Issue { pointer, at: IssueAt::Value, code, message: message.into(), help: Some(help.into()) });
    }

    /// Reports an error at character `offset` of the string at `field`, or in another file (see [`IssueAt`]).
    pub fn error_at(&mut self, field: &str, at: IssueAt, code: Code, message: impl Into<String>, help: Option<String>) {
        let pointer = self.pointer(field);
        self.issues.push(Issue { pointer, at, code, message: message.into(), help });
    }

    /// Declares that the value at `field` names another entry.
    pub fn link(&mut self, field: &str, role: LinkRole, target: &str) {
        let pointer = self.pointer(field);
        self.links.push(Link { role, target: target.to_owned(), pointer });
    }

    /// Declares that this entry (a stream) has readers outside the pipeline (an AWS stream read by Firehose or
    /// other applications), so the references phase does not report it as never read.
    pub fn readable_outside(&mut self) {
        let name = self.entry_name().unwrap_or_default();
        self.links.push(Link { role: LinkRole::ReadOutside, target: name, pointer: self.pointer.clone() });
    }

    /// Checks that the file named at `field` exists (relative paths resolve against the pipeline's directory).
    pub fn require_file(&mut self, field: &str, path: &str) -> Option<PathBuf> {
        let full = self.base_dir.join(path);
        if full.is_file() {
            Some(full)
        } else {
            self.error(field, Code::FileNotFound, format!("file `{path}` not found (looked for {})", full.display()));
            None
        }
    }

    /// How a file the entry names is shown in messages: the pipeline's directory joined with it, with `..`
    /// folded away (`pipelines/site-metrics.sql`, not `tests/../pipelines/site-metrics.sql`).
    pub fn shown_path(&self, file: &str) -> String {
        let mut parts: Vec<std::path::Component<'_>> = Vec::new();
        let joined = self.base_dir.join(file);
        for component in joined.components() {
            match component {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir
                    if parts.last().is_some_and(|p| matches!(p, std::path::Component::Normal(_))) =>
                {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.iter().collect::<PathBuf>().display().to_string()
    }

    /// The directory relative paths resolve against.
    pub fn base_dir(&self) -> &Path {
        self.base_dir
    }

    /// The findings and links gathered so far.
    pub fn finish(self) -> (Vec<Issue>, Vec<Link>) {
        (self.issues, self.links)
    }
}
