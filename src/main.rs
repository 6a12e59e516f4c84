//! The `seedlog` binary: the production broker and the tools around it.

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use seedlog::broker::config::{parse_override, BrokerConfig};
use seedlog::broker::{Node, NodeEnv, NodeExit};
use seedlog::runtime::{Clock, Disk, FileDisk, OpenMode};
use seedlog::tools::{self, ConsoleConsumerArgs, ConsoleProducerArgs, TopicsArgs};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "seedlog",
    version,
    about = "A Kafka-compatible broker that runs unchanged in a deterministic simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a broker. Reads a Kafka `server.properties` file; with none, a single broker on
    /// 127.0.0.1:9092 with its data in ./data.
    Broker {
        /// A server.properties file (Kafka's key names).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override one setting, `key=value` (repeatable; wins over the file).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Create, list, describe or delete topics (like kafka-topics.sh).
    Topics(TopicsArgs),
    /// Send lines from stdin as records (like kafka-console-producer.sh).
    Produce(ConsoleProducerArgs),
    /// Print records to stdout (like kafka-console-consumer.sh).
    Consume(ConsoleConsumerArgs),
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
        Command::Broker { config, overrides } => broker(config, overrides).await,
        Command::DumpLog { files } => dump_log(files).await,
        Command::Topics(args) => {
            exit_code(tools::topics::run(&args, &mut std::io::stdout(), &mut std::io::stderr()).await)
        }
        Command::Produce(args) => {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let code = tools::console_producer::run(
                &args,
                stdin,
                Clock::system(),
                seedlog::runtime::from_os(),
                &mut std::io::stderr(),
            )
            .await;
            exit_code(code)
        }
        Command::Consume(args) => {
            let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
            let consume = tools::console_consumer::run(&args, &mut stdout, &mut stderr);
            tokio::select! {
                biased;
                code = consume => exit_code(code),
                _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
            }
        }
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn broker(config_file: Option<PathBuf>, overrides: Vec<String>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    abort_on_panic();
    let config = match load_config(config_file, &overrides).await {
        Ok(config) => config,
        Err(message) => {
            eprintln!("seedlog broker: {message}");
            return ExitCode::from(2);
        }
    };
    if !config.ignored_keys().is_empty() {
        tracing::warn!(name: "config_keys_ignored", keys = ?config.ignored_keys(), "Kafka settings seedlog does not act on");
    }
    let env = NodeEnv {
        config,
        disk: Arc::new(FileDisk::new()),
        clock: Clock::system(),
        rng: seedlog::runtime::from_os(),
        fault_points: Default::default(),
    };
    let node = match Node::build(env).await {
        Ok(node) => node,
        Err(error) => {
            eprintln!("seedlog broker: {error}");
            return ExitCode::FAILURE;
        }
    };
    match node.run(shutdown_signal()).await {
        NodeExit::Shutdown => ExitCode::SUCCESS,
        NodeExit::Halted(why) => {
            eprintln!("seedlog broker: halted: {why}");
            ExitCode::FAILURE
        }
    }
}

/// A panic anywhere in the broker is a failed invariant: stop the whole process. Tokio
/// would otherwise end only the panicking task and let the others go on writing to a log,
/// or answering from a state, whose invariants just broke. A supervisor restarts the broker,
/// which recovers its logs as after a crash. (Release builds abort by `panic = "abort"`
/// too; the hook makes debug builds and the message the same.)
fn abort_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        tracing::error!(name: "invariant_failed", panic = %info, "stopping the broker");
        std::process::abort();
    }));
}

async fn load_config(file: Option<PathBuf>, overrides: &[String]) -> Result<BrokerConfig, String> {
    let overrides: Vec<(String, String)> =
        overrides.iter().map(|o| parse_override(o)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let text = match file {
        None => String::new(),
        Some(path) => read_text(&path).await.map_err(|e| format!("{}: {e}", path.display()))?,
    };
    BrokerConfig::from_properties(&text, &overrides).map_err(|e| e.to_string())
}

async fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    let disk = FileDisk::new();
    let file = disk.open(path, OpenMode::Existing).await?;
    let len = file.len().await?;
    let bytes = file.read_at(0, usize::try_from(len).unwrap_or(usize::MAX)).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
}

/// SIGTERM or ctrl-c: a graceful stop (flush and checkpoint every log).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(all(unix, not(madsim)))]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            // Polled in order: an unbiased select draws from tokio's process-wide RNG,
            // which the simulator does not seed.
            biased;
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(all(unix, not(madsim))))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!(name: "shutdown_requested", "shutting down");
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
