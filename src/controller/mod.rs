//! The controller: the cluster metadata log's records, the metadata image every node builds
//! from them, and the rules that change partitions (elections, ISR, ELR).

pub mod image;
pub mod partition_change;
pub mod records;
