//! `cargo xtask`: the project's automation, one small binary.
//!
//! - `validate [PATH...] [--env]`: validate pipelines (default `pipelines/`), the same code as `sluice validate`.
//! - `schema [--check]`: write `schemas/pipeline.schema.json`, or fail if the committed file is stale.
//! - `ci`: everything CI checks: format, clippy, tests, schema, pictures, pipelines (validated, `tests:` run),
//!   and the schema against an independent draft 2020-12 validator (Python `jsonschema`, in `target/ci-venv`).
//! - `graph [--check]`: draw `pipelines/*.yaml` into `docs/graphs/` (SVG and Mermaid), or fail if stale.
//! - `bench`: the criterion benchmarks.
//! - `chaos [--records N] [--kills K] [--seed S] [--period MS] [--naming N] [--fsync F] [--debug]`: `kill -9`
//!   a pipeline K times while N records go through, then check the bucket holds every record exactly once
//!   (the stream's `fsync` and the destination's `naming` are their defaults unless given).

mod chaos;
mod docs;
mod graphs;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use sluice_core::schema::{SCHEMA_PATH, pipeline_schema, pipeline_schema_text};
use sluice_core::validate::{self, ValidateOptions};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn main() -> ExitCode {
    sluice_plugins::link();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("validate") => return validate_command(&args[1..]),
        Some("schema") if args.get(1).map(String::as_str) == Some("--check") => check_schema(&root),
        Some("schema") => write_schema(&root),
        Some("graph") if args.get(1).map(String::as_str) == Some("--check") => graphs::check(&root),
        Some("graph") => graphs::write(&root),
        Some("ci") => ci(&root),
        Some("chaos") => chaos_command(&root, &args[1..]),
        Some("bench") => {
            let benches = ["validate", "pipeline", "kinesis_api", "window_soak"];
            let args: Vec<&str> = benches.iter().flat_map(|b| ["--bench", b]).collect();
            run(&root, "cargo", &[&["bench"], args.as_slice()].concat())
        }
        _ => {
            let usage = "validate [PATH...] [--env] | schema [--check] | graph [--check] | ci | bench | chaos [...]";
            eprintln!("usage: cargo xtask <{usage}>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask chaos`: builds `sluice` (release unless `--debug`) and runs one experiment of [`chaos`].
fn chaos_command(root: &Path, args: &[String]) -> Result<(), String> {
    let mut options = chaos::ChaosOptions {
        sluice: PathBuf::new(),
        work_dir: PathBuf::new(),
        records: 100_000,
        kills: 5,
        seed: 1,
        kill_period: std::time::Duration::from_millis(700),
        naming: None,
        fsync: None,
    };
    let mut debug = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().ok_or_else(|| format!("`{name}` needs a value"));
        let number = |name: &str, text: String| {
            text.replace('_', "").parse::<u64>().map_err(|e| format!("`{name} {text}`: {e}"))
        };
        match arg.as_str() {
            "--records" => options.records = number(arg, value(arg)?)?,
            "--kills" => {
                options.kills = u32::try_from(number(arg, value(arg)?)?).map_err(|e| format!("`--kills`: {e}"))?;
            }
            "--seed" => options.seed = number(arg, value(arg)?)?,
            "--period" => options.kill_period = std::time::Duration::from_millis(number(arg, value(arg)?)?),
            "--naming" => options.naming = Some(value(arg)?),
            "--fsync" => options.fsync = Some(value(arg)?),
            "--debug" => debug = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: cargo xtask chaos [--records N] [--kills K] [--seed S] \
                     [--period MS] [--naming deterministic|firehose] [--fsync always|interval|never] [--debug]"
                ));
            }
        }
    }
    let profile = if debug { "debug" } else { "release" };
    let mut build = vec!["build", "--quiet", "--bin", "sluice"];
    if !debug {
        build.push("--release");
    }
    run(root, "cargo", &build)?;
    options.sluice = root.join("target").join(profile).join("sluice");
    options.work_dir = root.join("target/chaos").join(format!("seed-{}", options.seed));
    if options.work_dir.exists() {
        std::fs::remove_dir_all(&options.work_dir).map_err(|e| format!("{}: {e}", options.work_dir.display()))?;
    }
    println!("{}", chaos::describe(&options));
    let report = chaos::run(&options, |line| println!("  {line}"))?;
    println!("{report}");
    if report.passed() {
        Ok(())
    } else {
        Err(format!("the bucket does not hold every record exactly once (kept in {})", options.work_dir.display()))
    }
}

fn validate_command(args: &[String]) -> ExitCode {
    let env = args.iter().any(|a| a == "--env");
    let paths: Vec<PathBuf> = args.iter().filter(|a| *a != "--env").map(PathBuf::from).collect();
    ExitCode::from(validate::run(&paths, ValidateOptions::from_env_flag(env)))
}

/// The generated files: the schema and the format reference made from it.
fn generated() -> [(&'static str, String); 2] {
    [(SCHEMA_PATH, pipeline_schema_text()), (docs::DOCS_PATH, docs::render(pipeline_schema()))]
}

fn write_schema(root: &Path) -> Result<(), String> {
    for (relative, text) in generated() {
        let path = root.join(relative);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {relative}");
    }
    Ok(())
}

/// Fails when a committed generated file differs from what would be generated now.
fn check_schema(root: &Path) -> Result<(), String> {
    for (relative, text) in generated() {
        let committed = std::fs::read_to_string(root.join(relative)).unwrap_or_default();
        if committed != text {
            return Err(format!("{relative} is stale: run `cargo xtask schema` and commit"));
        }
        println!("{relative} is up to date");
    }
    Ok(())
}

fn run(root: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).current_dir(root).status().map_err(|e| format!("{program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}

/// The Python virtual environment of the tests and of the external schema check: `target/ci-venv`, filled from
/// `tests/support/requirements.txt` (the tests' own `tests/support/aws_servers.rs` fills it the same way).
fn venv(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target/ci-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(root, "python3", &["-m", "venv", venv.to_str().unwrap_or_default()])?;
    }
    let pip = venv.join("bin/pip");
    let requirements = "tests/support/requirements.txt";
    run(
        root,
        pip.to_str().unwrap_or_default(),
        &["install", "--quiet", "--disable-pip-version-check", "-r", requirements],
    )?;
    let wanted = std::fs::read_to_string(root.join(requirements)).map_err(|e| format!("{requirements}: {e}"))?;
    std::fs::write(venv.join("sluice-requirements.txt"), wanted).map_err(|e| format!("ci-venv stamp: {e}"))?;
    Ok(python)
}

fn ci(root: &Path) -> Result<(), String> {
    run(root, "cargo", &["fmt", "--all", "--", "--check"])?;
    run(root, "cargo", &["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"])?;
    // The local AWS servers the tests start (tests/support/aws_servers.rs) must start in CI: no test skips.
    let python = venv(root)?;
    println!("$ SLUICE_REQUIRE_AWS_SERVERS=1 cargo test --workspace --quiet");
    let status = Command::new("cargo")
        .args(["test", "--workspace", "--quiet"])
        .env("SLUICE_REQUIRE_AWS_SERVERS", "1")
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo test --workspace` failed ({status})"));
    }
    check_schema(root)?;
    graphs::check(root)?;
    println!("$ cargo xtask validate pipelines");
    if validate::run(&[root.join("pipelines")], ValidateOptions::default()) != 0 {
        return Err("pipelines/ does not validate".into());
    }
    // The example pipelines' own tests, through the CLI as users run them.
    run(root, "cargo", &["run", "--quiet", "--", "test", "pipelines"])?;
    run(
        root,
        python.to_str().unwrap_or_default(),
        &["xtask/scripts/external_schema_check.py", SCHEMA_PATH, "pipelines", "tests/invalid"],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_is_up_to_date() {
        sluice_plugins::link();
        super::check_schema(&super::workspace_root()).expect("schema is current");
    }
}
