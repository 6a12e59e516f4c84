//! The simulator's checkers, one per file, each opening with its one-line definition.

mod synced_prefix_intact;

pub use synced_prefix_intact::SyncedPrefixIntact;
