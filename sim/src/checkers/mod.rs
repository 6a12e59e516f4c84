//! The simulator's checkers, one per file, each opening with its one-line definition.

mod acked_records_survive;
mod no_vanishing_reads;
mod one_record_per_offset;
mod synced_prefix_intact;

pub use acked_records_survive::AckedRecordsSurvive;
pub use no_vanishing_reads::NoVanishingReads;
pub use one_record_per_offset::OneRecordPerOffset;
pub use synced_prefix_intact::SyncedPrefixIntact;
