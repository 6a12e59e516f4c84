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
