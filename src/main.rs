//! The `sluice` command line: a thin layer over `sluice-core` and the built-in plugins.

mod discover;
mod explain;
mod graph;
mod metrics_server;
mod pipeline_file;
mod progress;
mod served_stream;
mod sql_view;
mod tap;
mod tap_command;
mod test_command;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_core::interpolate::resolve_value;
use sluice_core::plugin::registry;
use sluice_core::runtime::topology::{self, RunOptions, Topology};
use sluice_core::units::Duration;
use sluice_core::validate::{self, Report, ValidateOptions};
use tokio_util::sync::CancellationToken;

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
    /// Run a pipeline until its producers finish and everything is delivered, or until Ctrl-C.
    Run(RunArgs),
    /// Run the pipelines' `tests:` in memory: no producer, no network, no bucket.
    Test {
        /// Files, or directories searched for `*.yaml` and `*.yml` (default: `pipelines/`).
        paths: Vec<PathBuf>,
    },
    /// Infer an sql application's input mapping from sample records, as KDA's "Discover schema" did.
    Discover(discover::DiscoverArgs),
    /// Draw a pipeline: producers, streams, in-app streams and pumps, destinations (Mermaid, DOT or SVG).
    Graph(graph::GraphArgs),
    /// Estimate, for a steady rate, how often each destination writes objects and how big they are.
    Explain(explain::ExplainArgs),
    /// Print the new records of a running pipeline's embedded stream as JSON lines (in-app streams: `run --tap`).
    Tap(tap_command::TapArgs),
    /// Print the pipeline JSON schema.
    Schema,
    /// List the registered plugins.
    Plugins,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Where streams and checkpoints live [default: .sluice/<pipeline name>/ beside the pipeline file].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Stop producing after this many records in total, then drain and exit.
    #[arg(long)]
    records: Option<u64>,
    /// Stop after this long (`30s`, `5m`), then drain and exit.
    #[arg(long)]
    duration: Option<Duration>,
    /// Serve the pipeline's streams over the Kinesis Data Streams API at this address (`127.0.0.1:4567`;
    /// overrides `serve.kinesis_api.listen`). The run then goes on until Ctrl-C or --duration.
    #[arg(long, value_name = "ADDRESS")]
    kinesis_api: Option<String>,
    /// Serve Prometheus metrics at `http://ADDRESS/metrics` while the run goes on (`127.0.0.1:9898`).
    #[arg(long, value_name = "ADDRESS")]
    metrics: Option<std::net::SocketAddr>,
    /// Print the records of this stream, or the rows of in-app stream `application.STREAM`, to stdout as JSON
    /// lines while the run goes on (repeatable). Rows are skipped, never waited for, when stdout is slow.
    #[arg(long, value_name = "NAME")]
    tap: Vec<String>,
    /// No progress line and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// More logging (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(long, short, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sluice_core::redact::RedactingStderr::make)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    sluice_plugins::link();
    let command = Cli::parse().command;
    if !matches!(command, Command::Run(_)) {
        // Commands that print reports end quietly when their reader goes away (`sluice test | head`), as
        // Unix tools do, instead of panicking on the broken pipe. `run` keeps Rust's default: its sockets and
        // its stdout destination handle a closed pipe as an error of their own.
        sigpipe::reset();
    }
    match command {
        Command::Validate { paths, env } => validate_command(paths, env),
        Command::Run(args) => {
            init_logging(args.verbose);
            run_command(args)
        }
        Command::Test { paths } => test_command::test_command(paths),
        Command::Discover(args) => discover::discover_command(args),
        Command::Graph(args) => graph::graph_command(args),
        Command::Explain(args) => explain::explain_command(args),
        Command::Tap(args) => tap_command::tap_command(args),
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

fn run_command(args: RunArgs) -> ExitCode {
    let pipeline = &args.pipeline;
    let name = pipeline.display().to_string();
    let bytes = match std::fs::read(pipeline) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {name}: {}", sluice_core::redact::redact(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // Running needs every `${VAR}` set: validate as `sluice validate --env` would.
    let (diagnostics, validated) =
        validate::check_source(&name, pipeline, &bytes, ValidateOptions::from_env_flag(true));
    let report =
        Report { files: 1, diagnostics, sources: [(name.clone(), String::from_utf8_lossy(&bytes).into())].into() };
    if !report.diagnostics.is_empty() {
        eprint!("{}", report.render());
    }
    let Some(validated) = validated else { return ExitCode::from(1) };
    let mut value = validated.value.clone();
    if let Err(e) = resolve_value(&mut value, &|var| std::env::var(var).ok()) {
        eprintln!("error: {name}: {}", sluice_core::redact::redact(&e.to_string()));
        return ExitCode::from(1);
    }
    let base_dir =
        pipeline.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    let pipeline_name = value.get("name").and_then(|n| n.as_str()).unwrap_or("pipeline").to_owned();
    let data_dir = args.data_dir.unwrap_or_else(|| base_dir.join(".sluice").join(&pipeline_name));
    let options = RunOptions { base_dir, data_dir, records: args.records, duration: args.duration.map(|d| d.as_std()) };
    if let Err(e) = tap::check_names(&args.tap, &value) {
        eprintln!("error: {name}: {}", sluice_core::redact::redact(&e.to_string()));
        return ExitCode::from(2);
    }
    let Ok(mut metrics) = metrics_server::bind(args.metrics) else { return ExitCode::from(2) };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut printer = None;
    let result = runtime.block_on(async {
        let mut topology = Topology::build(&validated, &value, &options).await?;
        if let Some((taps, started)) = tap::start(&args.tap) {
            topology.set_taps(taps);
            printer = Some(started);
        }
        if let Some(spec) = sluice_kinesis_api::configured(&value, args.kinesis_api.as_deref())? {
            let api = sluice_kinesis_api::KinesisApi::bind(&spec, topology.streams()).await?;
            let (label, streams) = (format!("kinesis-api {}", api.local_addr()), api.stream_names());
            topology.add_service(label, streams, Box::new(api));
        }
        let stop = CancellationToken::new();
        tokio::spawn(stop_on_signal(stop.clone()));
        let progress_done = CancellationToken::new();
        let show_progress = std::io::stderr().is_terminal() && !args.quiet;
        let mut progress_task = None;
        let mut serving = None;
        let summary = topology::run(topology, &options, stop, |stages| {
            serving = metrics.take().map(|m| m.serve(pipeline_name.clone(), stages.clone()));
            if show_progress {
                progress_task = Some(tokio::spawn(progress::live(stages, progress_done.clone())));
            }
        })
        .await;
        drop(serving);
        progress_done.cancel();
        if let Some(task) = progress_task {
            let _ = task.await;
        }
        summary
    });
    // Standard input's blocking read cannot be cancelled: do not wait for a line nobody will type.
    runtime.shutdown_background();
    let skipped = printer.map(tap::Printer::finish);
    match result {
        Ok(summary) => {
            if !args.quiet {
                eprint!("{}", progress::summary(&summary));
                if let Some(skipped) = skipped.filter(|&n| n > 0) {
                    eprintln!("tap: {skipped} rows skipped (stdout was behind)");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {name}: {}", sluice_core::redact::redact(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

/// Cancels `stop` on SIGINT or SIGTERM: the run stops producers, drains, flushes and checkpoints. A second signal
/// exits at once (status 130), for a drain that cannot finish (a destination retrying through an outage): nothing is
/// lost, since a checkpoint only ever covers what was made durable, so the next run delivers the rest again.
async fn stop_on_signal(stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            tracing::warn!("cannot listen for signals: stop the run with --duration or --records");
            return;
        };
        let mut next_signal = async || {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        };
        next_signal().await;
        tracing::info!("stopping: draining and flushing (a second Ctrl-C stops at once)");
        stop.cancel();
        next_signal().await;
        eprintln!("stopped at once by a second signal: what was not yet delivered is delivered again by the next run");
        std::process::exit(130);
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: draining and flushing");
        stop.cancel();
    }
}
