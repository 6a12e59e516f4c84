//! The persistence shared by the offset index and the time index: fixed-size big-endian
//! entries kept in memory and appended to their file on flush.
//!
//! Kafka memory-maps its indexes; seedlog keeps the entries in a `Vec` and writes the new
//! ones at each flush (and on roll and close). The file only needs to be complete up to the
//! recovery point: recovery rebuilds the indexes of every segment from the recovery point
//! on, and checks the others before trusting them.

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;

use super::read_agreed::read_agreed;
use crate::runtime::{Disk, DiskFile, OpenMode};

/// One fixed-size index entry.
pub trait IndexEntry: Copy + std::fmt::Debug + PartialEq {
    const BYTES: usize;
    fn encode(&self, out: &mut BytesMut);
    fn decode(buf: &[u8]) -> Self;
}

/// Entries in memory plus the file they are persisted to.
///
/// Invariants:
/// - `persisted <= entries.len()`;
/// - the file holds exactly `entries[..persisted]` (after a successful `flush`).
#[derive(Debug)]
pub struct IndexFile<E: IndexEntry> {
    file: Arc<dyn DiskFile>,
    entries: Vec<E>,
    persisted: usize,
    /// The file did not exist when opened (it was lost or never written).
    was_missing: bool,
}

impl<E: IndexEntry> IndexFile<E> {
    /// Opens an index file, creating it empty if missing, and returns it with the entries
    /// decoded from it. The caller checks the entries before trusting them.
    pub async fn open(disk: &dyn Disk, path: &Path) -> std::io::Result<Self> {
        let was_missing = !disk.exists(path).await?;
        let file = disk.open(path, OpenMode::Create).await?;
        let len = file.len().await?;
        let whole_entries = (len as usize) / E::BYTES;
        let bytes = read_agreed(file.as_ref(), whole_entries * E::BYTES).await?;
        let entries: Vec<E> = bytes.chunks_exact(E::BYTES).map(E::decode).collect();
        let persisted = entries.len();
        let index = IndexFile { file, entries, persisted, was_missing };
        if len as usize != whole_entries * E::BYTES {
            index.file.set_len((whole_entries * E::BYTES) as u64).await?;
        }
        Ok(index)
    }

    pub fn was_missing(&self) -> bool {
        self.was_missing
    }

    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn last(&self) -> Option<E> {
        self.entries.last().copied()
    }

    pub fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// Drops every entry from `keep` on, in memory and (at once) in the file.
    pub async fn truncate_entries(&mut self, keep: usize) -> std::io::Result<()> {
        if keep >= self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(keep);
        if self.persisted > keep {
            self.persisted = keep;
            self.file.set_len((keep * E::BYTES) as u64).await?;
        }
        Ok(())
    }

    /// Replaces every entry (after a rebuild by scanning the segment).
    pub async fn replace(&mut self, entries: Vec<E>) -> std::io::Result<()> {
        self.entries = entries;
        self.persisted = 0;
        if self.file.len().await? > 0 {
            self.file.set_len(0).await?;
        }
        Ok(())
    }

    /// Writes the entries not yet in the file; with `sync`, makes them durable.
    pub async fn flush(&mut self, sync: bool) -> std::io::Result<()> {
        if self.persisted < self.entries.len() {
            let mut out = BytesMut::with_capacity((self.entries.len() - self.persisted) * E::BYTES);
            for entry in &self.entries[self.persisted..] {
                entry.encode(&mut out);
            }
            let position = (self.persisted * E::BYTES) as u64;
            self.file.write_at(position, out.freeze()).await?;
            self.persisted = self.entries.len();
        }
        if sync {
            self.file.sync().await?;
        }
        debug_assert!(self.persisted == self.entries.len());
        Ok(())
    }
}
