//! `sluice graph`: a pipeline as a picture, as Mermaid, DOT or SVG.
//!
//! - [`model`]: what the picture shows (built from the validated pipeline and the compiled SQL);
//! - [`labels`]: the detail lines of each entry;
//! - [`mermaid`], [`dot`], [`svg`]: one renderer per format.

mod dot;
mod ids;
pub mod labels;
mod mermaid;
pub mod model;
mod svg;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::pipeline_file::PipelineFile;

/// The picture's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Mermaid flowchart text (for READMEs and pull requests).
    Mermaid,
    /// Graphviz DOT text.
    Dot,
    /// An SVG image, laid out by sluice.
    Svg,
}

/// `sluice graph PIPELINE [--format mermaid|dot|svg] [-o FILE]`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The pipeline file.
    pub pipeline: PathBuf,
    /// What to write.
    #[arg(long, short, value_enum, default_value = "mermaid")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// The picture of the pipeline at `path`, or the exit code after printing why not.
pub fn render(path: &std::path::Path, format: Format) -> Result<String, ExitCode> {
    let file = PipelineFile::load(path)?;
    let graph = model::build(&file).map_err(|e| {
        eprintln!("error: {}: {e}", file.shown);
        ExitCode::from(1)
    })?;
    match format {
        Format::Mermaid => Ok(mermaid::render(&graph)),
        Format::Dot => Ok(dot::render(&graph)),
        Format::Svg => svg::render(&graph).map_err(|e| {
            eprintln!("error: {}: {e}", file.shown);
            ExitCode::from(1)
        }),
    }
}

/// Runs `sluice graph`: 0 written, 1 invalid pipeline, 2 I/O error.
pub fn graph_command(args: GraphArgs) -> ExitCode {
    let text = match render(&args.pipeline, args.format) {
        Ok(text) => text,
        Err(code) => return code,
    };
    match &args.output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}
