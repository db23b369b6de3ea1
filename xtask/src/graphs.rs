//! `cargo xtask graph [--check]`: the pictures of `pipelines/*.yaml` that the README shows, written by
//! `sluice graph` itself (through `cargo run`, so they are what a user gets) to `docs/graphs/<name>.svg` and
//! `.mmd`; `--check` fails when a committed picture differs from what would be drawn now.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the pictures live, relative to the workspace root.
pub const GRAPHS_DIR: &str = "docs/graphs";

/// The pipelines drawn: `pipelines/*.yaml`, sorted.
fn pipelines(root: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = root.join("pipelines");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// `sluice graph <pipeline> --format <format>`'s output.
fn draw(root: &Path, pipeline: &Path, format: &str) -> Result<String, String> {
    let relative = pipeline.strip_prefix(root).unwrap_or(pipeline);
    let output = Command::new("cargo")
        .args(["run", "--quiet", "--bin", "sluice", "--", "graph"])
        .arg(relative)
        .args(["--format", format])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`sluice graph {} --format {format}` failed:\n{}",
            relative.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{}: {e}", relative.display()))
}

/// Every picture as (path relative to the root, content).
fn pictures(root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pipeline in pipelines(root)? {
        let stem = pipeline.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        for (format, extension) in [("svg", "svg"), ("mermaid", "mmd")] {
            out.push((format!("{GRAPHS_DIR}/{stem}.{extension}"), draw(root, &pipeline, format)?));
        }
    }
    Ok(out)
}

/// Writes every picture.
pub fn write(root: &Path) -> Result<(), String> {
    let pictures = pictures(root)?;
    let dir = root.join(GRAPHS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (relative, text) in pictures {
        let path = root.join(&relative);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {relative}");
    }
    Ok(())
}

/// Fails when a committed picture is missing or differs from what would be drawn now.
pub fn check(root: &Path) -> Result<(), String> {
    for (relative, text) in pictures(root)? {
        let committed = std::fs::read_to_string(root.join(&relative)).unwrap_or_default();
        if committed != text {
            return Err(format!("{relative} is stale: run `cargo xtask graph` and commit"));
        }
        println!("{relative} is up to date");
    }
    Ok(())
}
