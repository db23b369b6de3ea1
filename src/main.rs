//! The `sluice` command line: a thin layer over `sluice-core` and the built-in plugins.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_core::plugin::{PluginKind, find, registry};
use sluice_core::spec::PipelineSpec;
use sluice_core::validate::{self, ValidateOptions};

/// Streaming pipelines as code: Kinesis Data Analytics SQL applications, run anywhere.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate pipeline files offline: YAML, schema, references, plugin checks.
    Validate {
        /// Files, or directories searched for `*.yaml` and `*.yml` (default: `pipelines/`).
        paths: Vec<PathBuf>,
        /// Also require every `${VAR}` without a default to be set in the environment.
        #[arg(long)]
        env: bool,
    },
    /// Run a pipeline.
    Run {
        /// The pipeline file.
        pipeline: PathBuf,
    },
    /// Print the pipeline JSON schema.
    Schema,
    /// List the registered plugins.
    Plugins,
}

fn main() -> ExitCode {
    sluice_plugins::link();
    match Cli::parse().command {
        Command::Validate { paths, env } => validate_command(paths, env),
        Command::Run { pipeline } => run_command(pipeline),
        Command::Schema => {
            print!("{}", sluice_core::schema::pipeline_schema_text());
            ExitCode::SUCCESS
        }
        Command::Plugins => {
            for plugin in registry() {
                println!("{:<12} {}", plugin.kind.noun(), plugin.name);
            }
            ExitCode::SUCCESS
        }
    }
}

fn validate_command(paths: Vec<PathBuf>, env: bool) -> ExitCode {
    ExitCode::from(validate::run(&paths, ValidateOptions::from_env_flag(env)))
}

fn run_command(pipeline: PathBuf) -> ExitCode {
    let report = match validate::validate_paths(std::slice::from_ref(&pipeline), ValidateOptions::default()) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if report.error_count() > 0 {
        eprint!("{}", report.render());
        return ExitCode::from(1);
    }
    let spec: PipelineSpec = match std::fs::read(&pipeline)
        .map_err(|e| e.to_string())
        .and_then(|bytes| sluice_core::yaml::load(&bytes).map_err(|e| e.message))
        .and_then(|doc| serde_json::from_value(doc.value).map_err(|e| e.to_string()))
    {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {}: {e}", pipeline.display());
            return ExitCode::from(2);
        }
    };
    let base_dir = pipeline.parent().map(PathBuf::from).unwrap_or_default();
    let mut failed = false;
    for kind in PluginKind::ALL {
        for (name, entry) in spec.section(kind) {
            let Some(plugin) = find(kind, &entry.type_name) else {
                continue;
            };
            let _ = (plugin, &base_dir);
            match Err::<(), &str>("the runtime is being connected") {
                Ok(()) => {}
                Err(e) => {
                    eprintln!("error: {} `{name}`: {e}", kind.noun());
                    failed = true;
                }
            }
        }
    }
    if failed {
        eprintln!("sluice {}: the pipeline is valid, but this version cannot run it yet", env!("CARGO_PKG_VERSION"));
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
