//! The `seedlog` binary: the production broker and the tools around it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use seedlog::runtime::FileDisk;

#[derive(Parser)]
#[command(name = "seedlog", version, about = "A Kafka-compatible broker that runs unchanged in a deterministic simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the batches of `.log` segment files, or the entries of `.index` and
    /// `.timeindex` files (like Kafka's kafka-dump-log.sh).
    DumpLog {
        /// Segment files, e.g. data/orders-0/00000000000000000000.log
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::DumpLog { files } => dump_log(files).await,
    }
}

async fn dump_log(files: Vec<PathBuf>) -> ExitCode {
    let disk = FileDisk::new();
    let mut status = ExitCode::SUCCESS;
    for file in files {
        match seedlog::storage::dump_file(&disk, &file).await {
            Ok(lines) => lines.iter().for_each(|line| println!("{line}")),
            Err(error) => {
                eprintln!("seedlog dump-log: {}: {error}", file.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
