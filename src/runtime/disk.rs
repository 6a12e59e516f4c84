//! The disk seam: every byte seedlog reads or writes goes through [`Disk`].
//!
//! Production uses [`FileDisk`](super::FileDisk) (real files, blocking calls off the async
//! threads); the simulator and tests use [`MemDisk`](super::MemDisk), which keeps files in
//! memory across node restarts and injects the faults real disks have (see its type docs).
//!
//! The API is handle-based, like the OS: a file is opened once and then appended to, read
//! and synced through its [`DiskFile`]. Durability follows POSIX: data is durable only after
//! [`DiskFile::sync`], and a new or renamed directory entry only after [`Disk::sync_dir`] on
//! its directory. Callers must treat any error from `sync` as fatal for the file's contents:
//! the data written since the last successful sync may be gone, and a retry cannot bring it
//! back (the "fsyncgate" behaviour of Linux).

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

/// How [`Disk::open`] treats a missing or existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Open an existing file; `NotFound` if it does not exist.
    Existing,
    /// Open the file, creating it empty if it does not exist.
    Create,
    /// Create a new empty file; `AlreadyExists` if one is there.
    CreateNew,
}

/// A node's disk, rooted at nothing in particular: paths are used as given.
#[async_trait]
pub trait Disk: Send + Sync + Debug + 'static {
    /// Opens (or creates) a regular file for reading and writing.
    async fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn DiskFile>>;
    /// Names (not paths) of the entries of `dir`, sorted.
    async fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether a file or directory exists at `path`.
    async fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Atomically replaces `to` with `from`. Durable only after `sync_dir` of both parents.
    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file. Durable only after `sync_dir` of its parent.
    async fn remove(&self, path: &Path) -> io::Result<()>;
    /// Removes an empty directory (durable at once, like creation).
    async fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates `dir` and its missing parents.
    async fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes the entries of `dir` (creations, renames, removals) durable.
    async fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open regular file.
#[allow(clippy::len_without_is_empty)] // a file's length is a position, not a collection size
#[async_trait]
pub trait DiskFile: Send + Sync + Debug {
    /// The path the file was opened at.
    fn path(&self) -> &Path;
    /// Appends `buf` at the end of the file and returns the position it was written at.
    async fn append(&self, buf: Bytes) -> io::Result<u64>;
    /// Writes `buf` at `position`, extending the file if needed.
    async fn write_at(&self, position: u64, buf: Bytes) -> io::Result<()>;
    /// Reads up to `len` bytes at `position`; shorter only at the end of the file.
    async fn read_at(&self, position: u64, len: usize) -> io::Result<Bytes>;
    /// The current length of the file in bytes.
    async fn len(&self) -> io::Result<u64>;
    /// Truncates or extends the file to `len` bytes.
    async fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's contents durable (fdatasync).
    async fn sync(&self) -> io::Result<()>;
}
