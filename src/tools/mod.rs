//! The `seedlog` binary's admin subcommands, as library functions over parsed arguments:
//! `topics` (like kafka-topics.sh), `console-producer` and `console-consumer` (like
//! kafka-console-producer.sh and kafka-console-consumer.sh).
//!
//! Each takes its `clap::Args` struct (for main.rs to embed as a subcommand), readers and
//! writers instead of stdin/stdout/stderr, and returns the process exit code: 0 success,
//! 1 an operation failed, 2 a usage error clap could not catch.

pub mod console_consumer;
pub mod console_producer;
pub mod properties;
pub mod topics;

pub use console_consumer::ConsoleConsumerArgs;
pub use console_producer::ConsoleProducerArgs;
pub use topics::TopicsArgs;

/// Where a tool writes (stdout or stderr in the binary, a `Vec<u8>` in tests).
pub type Output<'a> = &'a mut (dyn std::io::Write + Send);

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: an operation failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: the arguments do not make sense together.
pub const EXIT_USAGE: i32 = 2;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::runtime::{seeded, Clock};

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        tool: Tool,
    }

    #[derive(clap::Subcommand)]
    enum Tool {
        Topics(TopicsArgs),
        ConsoleProducer(ConsoleProducerArgs),
        ConsoleConsumer(ConsoleConsumerArgs),
    }

    fn assert_send<T: Send>(_: &T) {}

    /// The binary embeds the argument structs as subcommands and may spawn the tools.
    #[test]
    fn tools_embed_as_subcommands_and_their_futures_are_send() {
        let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("seedlog").chain(args.iter().copied()));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        match parse(&["topics", "--bootstrap-server", "h:1", "--list"]).unwrap().tool {
            Tool::Topics(args) => assert_send(&topics::run(&args, &mut out, &mut err)),
            _ => panic!("topics"),
        }
        match parse(&["console-producer", "--bootstrap-server", "h:1", "--topic", "t"]).unwrap().tool {
            Tool::ConsoleProducer(args) => {
                assert_send(&console_producer::run(&args, &b""[..], Clock::system(), seeded(1), &mut err))
            }
            _ => panic!("console-producer"),
        }
        match parse(&["console-consumer", "--bootstrap-server", "h:1", "--topic", "t"]).unwrap().tool {
            Tool::ConsoleConsumer(args) => assert_send(&console_consumer::run(&args, &mut out, &mut err)),
            _ => panic!("console-consumer"),
        }
    }
}
