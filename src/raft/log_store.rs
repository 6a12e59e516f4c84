//! The metadata log on disk (`<dir>/__cluster_metadata-0/raft.log`): a durable append-only
//! file of framed entries, written through the [`Disk`] seam.
//!
//! Frame: `length: u32` (of the body), `crc: u32` (CRC32C of the body), then the body:
//! `offset: i64`, `epoch: i32`, `kind: u8` (0 data, 1 LeaderChange followed by `leader_id:
//! i32`, `voters: u32` and that many `i32`), `payload_length: u32` and the payload. Integers
//! are big-endian, as on Kafka's wire.
//!
//! Recovery at open reads the file frame by frame and stops at the first frame that is torn
//! (shorter than its length), fails its CRC, does not decode, or does not continue the log
//! (offset `previous + 1`, epoch not below the previous one); it truncates the file there and
//! fsyncs. A crash can only tear or zero the unsynced tail, so what it cuts is what was never
//! acknowledged. A frame that looks torn or fails its CRC is read again (up to
//! [`CRC_RETRIES`] times) before it counts: a transient bit flip on read (in the length or the
//! body) must not make the node cut entries it has acknowledged.
//!
//! The file starts at the offset of its first frame (the log start: 0, or the end of the
//! snapshot that covers what came before). Deleting below a new log start
//! ([`LogStore::delete_below`]) copies the frames from it into `raft.log.cleaned`, fsyncs it,
//! renames it over `raft.log` and fsyncs the directory: a crash leaves either file whole, and
//! both are valid since the snapshot that covers the deleted entries is durable first. A
//! `raft.log.cleaned` found at open is what a crash left before the rename and is removed.
//! An empty file has no first frame: the driver tells the store where it starts
//! ([`LogStore::reset_to`]), from the snapshot it recovered.
//!
//! Where seedlog differs from Kafka: one file, not segments with `.index`/`.timeindex` (so
//! "deleting the segments below the log start" is a rewrite of the retained tail, which is
//! small: a snapshot is taken near the high watermark), and not Kafka's record-batch format:
//! seedlog's controllers only talk to each other (docs/raft.md).

use super::messages::{Entry, EntryKind, Offset};
use crate::runtime::{Disk, DiskFile, OpenMode};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The metadata log's directory under the node's metadata dir (Kafka's name).
pub const METADATA_DIR: &str = "__cluster_metadata-0";
/// The log file's name in [`METADATA_DIR`].
pub const LOG_FILE: &str = "raft.log";
/// The retained tail being written by [`LogStore::delete_below`], before its rename.
pub const CLEANED_FILE: &str = "raft.log.cleaned";
/// Frame header: length and CRC.
const HEADER_BYTES: usize = 8;
/// How often a frame that fails its CRC is read again before recovery cuts the log there.
pub const CRC_RETRIES: usize = 3;
/// A frame body larger than this is corrupt (an entry is far smaller).
const MAX_BODY_BYTES: usize = 64 << 20;

/// The log file and where each entry's frame starts.
///
/// Invariants: `positions` is strictly increasing, holds one position per entry from
/// `start_offset` on, starts at 0 when there is an entry, and every position is below
/// `end_position`, the file's length.
#[derive(Debug)]
pub struct LogStore {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    file: Arc<dyn DiskFile>,
    /// The offset of the file's first frame.
    start_offset: Offset,
    positions: Vec<u64>,
    end_position: u64,
}

/// What recovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecovery {
    /// Entries kept.
    pub entries: usize,
    /// Bytes cut from the tail (a torn or corrupt frame and everything after it).
    pub truncated_bytes: u64,
}

impl LogStore {
    /// Opens (creating if needed) the log in `<dir>/__cluster_metadata-0/`, recovers it and
    /// returns the entries it holds (from its first frame's offset; 0 for an empty file, which
    /// [`reset_to`](Self::reset_to) moves).
    pub async fn open(disk: &Arc<dyn Disk>, dir: &Path) -> io::Result<(LogStore, Vec<Entry>, LogRecovery)> {
        let log_dir = metadata_dir(dir);
        disk.create_dir_all(&log_dir).await?;
        if disk.exists(&log_dir.join(CLEANED_FILE)).await? {
            disk.remove(&log_dir.join(CLEANED_FILE)).await?;
        }
        let file = disk.open(&log_dir.join(LOG_FILE), OpenMode::Create).await?;
        // A new file's directory entry is durable only once its directory is synced.
        disk.sync_dir(&log_dir).await?;
        let len = file.len().await?;
        let mut store = LogStore {
            disk: disk.clone(),
            dir: log_dir,
            file,
            start_offset: 0,
            positions: Vec::new(),
            end_position: 0,
        };
        let mut entries = Vec::new();
        let mut position = 0u64;
        while position < len {
            match store.read_frame(position, len).await? {
                Some((entry, frame_len)) if continues(&entries, &entry) => {
                    store.positions.push(position);
                    entries.push(entry);
                    position += frame_len;
                }
                _ => break,
            }
        }
        let truncated_bytes = len - position;
        if truncated_bytes > 0 {
            store.file.set_len(position).await?;
            store.file.sync().await?;
        }
        store.end_position = position;
        store.start_offset = entries.first().map_or(0, |e| e.offset);
        store.check_invariants();
        Ok((store, entries.clone(), LogRecovery { entries: entries.len(), truncated_bytes }))
    }

    /// The frame at `position` and its length, or `None` if it is torn, corrupt or does not
    /// decode. A frame that looks torn or fails its CRC is read again (up to [`CRC_RETRIES`]
    /// times) first: a bit flipped on read in its length or body is transient, and cutting
    /// there would drop entries this node acknowledged.
    async fn read_frame(&self, position: u64, file_len: u64) -> io::Result<Option<(Entry, u64)>> {
        if file_len - position < HEADER_BYTES as u64 {
            return Ok(None);
        }
        for _ in 0..=CRC_RETRIES {
            let mut header = self.file.read_at(position, HEADER_BYTES).await?;
            let body_len = header.get_u32() as usize;
            let crc = header.get_u32();
            if body_len > MAX_BODY_BYTES || (file_len - position - HEADER_BYTES as u64) < body_len as u64 {
                continue;
            }
            let body = self.file.read_at(position + HEADER_BYTES as u64, body_len).await?;
            if crc32c::crc32c(&body) != crc {
                continue;
            }
            return Ok(decode_entry(body).map(|entry| (entry, (HEADER_BYTES + body_len) as u64)));
        }
        Ok(None)
    }

    /// The offset the next entry gets.
    pub fn end_offset(&self) -> Offset {
        self.start_offset + self.positions.len() as Offset
    }

    /// The offset of the first entry (or where the next one goes in an empty log).
    pub fn start_offset(&self) -> Offset {
        self.start_offset
    }

    /// Replaces the whole log by an empty one starting at `start`, durably (set_len 0, then
    /// fsync): a snapshot ending at `start` is installed, or the log recovered from disk does
    /// not continue the snapshot recovered with it. The snapshot must be durable first.
    pub async fn reset_to(&mut self, start: Offset) -> io::Result<()> {
        assert!(start >= 0, "a log starting at a negative offset");
        if self.end_position > 0 {
            self.file.set_len(0).await?;
            self.file.sync().await?;
        }
        self.positions.clear();
        self.end_position = 0;
        self.start_offset = start;
        self.check_invariants();
        Ok(())
    }

    /// Removes every entry below `offset` (a durable snapshot covers them): the retained tail
    /// is written to `raft.log.cleaned`, fsynced, renamed over `raft.log`, and the directory is
    /// fsynced before anything is appended again. Past the end, the log becomes empty there.
    pub async fn delete_below(&mut self, offset: Offset) -> io::Result<()> {
        if offset <= self.start_offset {
            return Ok(());
        }
        if offset >= self.end_offset() {
            return self.reset_to(offset).await;
        }
        let from = self.positions[(offset - self.start_offset) as usize];
        let tail = self.file.read_at(from, (self.end_position - from) as usize).await?;
        assert_eq!(tail.len() as u64, self.end_position - from, "the log file shrank behind the store's back");
        let (cleaned, log) = (self.dir.join(CLEANED_FILE), self.dir.join(LOG_FILE));
        let file = self.disk.open(&cleaned, OpenMode::Create).await?;
        file.set_len(0).await?;
        file.append(tail).await?;
        file.sync().await?;
        self.disk.rename(&cleaned, &log).await?;
        self.disk.sync_dir(&self.dir).await?;
        self.file = self.disk.open(&log, OpenMode::Existing).await?;
        let kept = (offset - self.start_offset) as usize;
        self.positions = self.positions[kept..].iter().map(|p| p - from).collect();
        self.end_position -= from;
        self.start_offset = offset;
        self.check_invariants();
        Ok(())
    }

    /// Writes `entries` at the end (not yet durable: call [`sync`](Self::sync)).
    pub async fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        let mut buf = BytesMut::new();
        let mut positions = Vec::with_capacity(entries.len());
        for entry in entries {
            assert_eq!(entry.offset, self.end_offset() + positions.len() as Offset, "append must continue the log");
            positions.push(self.end_position + buf.len() as u64);
            encode_frame(entry, &mut buf);
        }
        if buf.is_empty() {
            return Ok(());
        }
        let len = buf.len() as u64;
        let at = self.file.append(buf.freeze()).await?;
        assert_eq!(at, self.end_position, "the log file grew behind the store's back");
        self.positions.extend(positions);
        self.end_position += len;
        self.check_invariants();
        Ok(())
    }

    /// Removes every entry at or above `offset`, durably (set_len, then fsync).
    pub async fn truncate_to(&mut self, offset: Offset) -> io::Result<()> {
        assert!(offset >= 0, "truncation to a negative offset");
        if offset >= self.end_offset() {
            return Ok(());
        }
        assert!(offset >= self.start_offset, "truncation to {offset} below the log start {}", self.start_offset);
        let index = (offset - self.start_offset) as usize;
        let position = self.positions[index];
        self.file.set_len(position).await?;
        self.file.sync().await?;
        self.positions.truncate(index);
        self.end_position = position;
        self.check_invariants();
        Ok(())
    }

    /// Makes every append durable (fdatasync). An error is fatal for the file's contents.
    pub async fn sync(&self) -> io::Result<()> {
        self.file.sync().await
    }

    /// Asserts the invariants in the type's doc comment.
    pub fn check_invariants(&self) {
        for pair in self.positions.windows(2) {
            assert!(pair[0] < pair[1], "frame positions increase");
        }
        if let Some(last) = self.positions.last() {
            assert!(*last < self.end_position, "every frame lies inside the file");
        }
        if let Some(first) = self.positions.first() {
            assert_eq!(*first, 0, "the first frame starts the file");
        }
        assert!(self.start_offset >= 0, "the log starts at a negative offset");
    }
}

/// `<dir>/__cluster_metadata-0`.
pub fn metadata_dir(dir: &Path) -> PathBuf {
    dir.join(METADATA_DIR)
}

/// Whether `entry` continues the recovered `entries` (contiguous offsets from the first
/// frame's, epochs not falling).
fn continues(entries: &[Entry], entry: &Entry) -> bool {
    match entries.last() {
        None => entry.offset >= 0,
        Some(last) => entry.offset == last.offset + 1 && entry.epoch >= last.epoch,
    }
}

/// Appends `entry`'s frame to `buf`.
pub fn encode_frame(entry: &Entry, buf: &mut BytesMut) {
    let mut body = BytesMut::new();
    body.put_i64(entry.offset);
    body.put_i32(entry.epoch);
    match &entry.kind {
        EntryKind::Data => body.put_u8(0),
        EntryKind::LeaderChange { leader_id, voters } => {
            body.put_u8(1);
            body.put_i32(*leader_id);
            body.put_u32(voters.len() as u32);
            voters.iter().for_each(|v| body.put_i32(*v));
        }
    }
    body.put_u32(entry.payload.len() as u32);
    body.put_slice(&entry.payload);
    buf.put_u32(body.len() as u32);
    buf.put_u32(crc32c::crc32c(&body));
    buf.put_slice(&body);
}

/// The entry in a frame body, or `None` if it does not decode exactly.
fn decode_entry(mut body: Bytes) -> Option<Entry> {
    if body.remaining() < 13 {
        return None;
    }
    let offset = body.get_i64();
    let epoch = body.get_i32();
    let kind = match body.get_u8() {
        0 => EntryKind::Data,
        1 => {
            if body.remaining() < 8 {
                return None;
            }
            let leader_id = body.get_i32();
            let count = body.get_u32() as usize;
            if body.remaining() < count.checked_mul(4)? {
                return None;
            }
            let voters = (0..count).map(|_| body.get_i32()).collect();
            EntryKind::LeaderChange { leader_id, voters }
        }
        _ => return None,
    };
    if body.remaining() < 4 {
        return None;
    }
    let payload_len = body.get_u32() as usize;
    if body.remaining() != payload_len || offset < 0 || epoch < 0 {
        return None;
    }
    Some(Entry { offset, epoch, kind, payload: body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::MemDisk;

    fn test_store(disk: MemDisk, file: Arc<dyn DiskFile>, positions: Vec<u64>, end_position: u64) -> LogStore {
        LogStore { disk: Arc::new(disk), dir: PathBuf::from("/"), file, start_offset: 0, positions, end_position }
    }

    #[tokio::test]
    #[should_panic(expected = "frame positions increase")]
    async fn invariants_fire_on_positions_out_of_order() {
        let disk = MemDisk::new(1);
        let file = disk.open(Path::new("/raft.log"), OpenMode::Create).await.unwrap();
        let store = test_store(disk, file, vec![0, 40, 20], 60);
        store.check_invariants();
    }

    #[tokio::test]
    #[should_panic(expected = "every frame lies inside the file")]
    async fn invariants_fire_on_a_frame_past_the_end() {
        let disk = MemDisk::new(1);
        let file = disk.open(Path::new("/raft.log"), OpenMode::Create).await.unwrap();
        let store = test_store(disk, file, vec![0, 40], 40);
        store.check_invariants();
    }
}
