//! `sluice explain PIPELINE --rate 1000/s [--record-size 100B]`: what a steady rate does to a pipeline.
//!
//! Per stream: throughput per shard and PutRecords batches against Kinesis's limits. Per destination: the
//! records that reach it (an application's output rate, counted through its pumps), which buffer hint cuts
//! the objects, how often, how big, how many per hour; warnings for floods of objects, small files and AWS
//! limits. Nothing runs: it is arithmetic on the validated pipeline.
//!
//! - [`rate`]: the `--rate` value; [`human`]: numbers for people;
//! - [`estimate`]: the buffer arithmetic; [`flows`]: records per destination; [`limits`]: AWS's numbers;
//! - [`report`]: the text.

mod estimate;
mod flows;
mod human;
mod limits;
mod rate;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_core::plugin::PluginKind;
use sluice_core::units::ByteSize;

use self::rate::Rate;
use crate::pipeline_file::PipelineFile;

/// `sluice explain` arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The pipeline file.
    pub pipeline: PathBuf,
    /// Records per second put into each stream: `1000/s`, `60000/m`, `5/10s`.
    #[arg(long)]
    pub rate: Rate,
    /// The size of a record (`100B`, `2KiB`); output rows of applications are assumed the same size.
    #[arg(long, default_value = "100B")]
    pub record_size: ByteSize,
}

/// Runs `sluice explain`: 0 explained (warnings or not), 1 invalid pipeline, 2 usage or I/O error.
pub fn explain_command(args: ExplainArgs) -> ExitCode {
    if args.record_size.bytes() == 0 {
        eprintln!("error: invalid value `0B` for `--record-size`: a record has at least one byte");
        return ExitCode::from(2);
    }
    let file = match PipelineFile::load(&args.pipeline) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let rate = args.rate.per_sec();
    let record = args.record_size.bytes() as f64;
    let inflows = match flows::inflows(&file, rate) {
        Ok(inflows) => inflows,
        Err(e) => {
            eprintln!("error: {}: {e}", file.shown);
            return ExitCode::from(1);
        }
    };
    let mut sections = Vec::new();
    for entry in file.entries(PluginKind::Stream) {
        sections.push(report::stream(&entry, rate, record));
    }
    for entry in file.entries(PluginKind::Destination) {
        let inflows = inflows.get(entry.name).map(Vec::as_slice).unwrap_or_default();
        sections.push(report::destination(&entry, inflows, record));
    }
    let warnings: usize = sections.iter().map(|s| s.warnings).sum();
    println!("{}: {} into each stream, records of {} ({})\n", file.name(), args.rate, human::bytes(record), file.shown);
    for section in &sections {
        println!("{}", section.text);
    }
    println!("{warnings} warning(s)");
    ExitCode::SUCCESS
}
