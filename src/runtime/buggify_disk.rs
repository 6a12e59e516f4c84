//! The fsync buggify points (simulation build only): a [`Disk`] that wraps a node's disk for
//! its partition logs and, at each file's `sync`, may wait longer ([`BuggifyPoint::FsyncSlow`])
//! or fail ([`BuggifyPoint::FsyncFail`]).
//!
//! Why a wrapper and not a check in the log: every fsync of a partition log (the records,
//! the indexes, the checkpoint files) goes through some `DiskFile::sync`; wrapping the disk
//! the logs are opened on reaches them all through one constructor (`Topics::load`), and the
//! storage code stays unaware. Only the partition logs get it: the metadata log and the
//! node's small files keep the plain disk, so a fired point tests the data plane's answer to
//! a failed fsync (the log goes offline, the broker halts), not the quorum's.
//!
//! A failed fsync does not sync: the file's unsynced data stays volatile, readable until the
//! node's disk crashes, which the supervisor's restart of the halted broker does first. That
//! is Linux's behaviour (stale pages stay readable), equivalent for a caller that treats a
//! failed fsync as fatal, as seedlog's log does.

use std::io;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::buggify::BuggifyPoint;
use super::disk::{Disk, DiskFile, OpenMode};
use super::FaultPoints;

/// A disk whose files' fsyncs may be slow or fail, per the node's buggify points.
#[derive(Debug)]
pub(super) struct BuggifyDisk {
    inner: Arc<dyn Disk>,
    points: FaultPoints,
}

impl BuggifyDisk {
    pub(super) fn new(inner: Arc<dyn Disk>, points: FaultPoints) -> Self {
        BuggifyDisk { inner, points }
    }
}

#[async_trait]
impl Disk for BuggifyDisk {
    async fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn DiskFile>> {
        let inner = self.inner.open(path, mode).await?;
        Ok(Arc::new(BuggifyFile { inner, points: self.points.clone() }))
    }

    async fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(dir).await
    }

    async fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to).await
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path).await
    }

    async fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.remove_dir(dir).await
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir).await
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir).await
    }
}

#[derive(Debug)]
struct BuggifyFile {
    inner: Arc<dyn DiskFile>,
    points: FaultPoints,
}

#[async_trait]
impl DiskFile for BuggifyFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }

    async fn append(&self, buf: Bytes) -> io::Result<u64> {
        self.inner.append(buf).await
    }

    async fn write_at(&self, position: u64, buf: Bytes) -> io::Result<()> {
        self.inner.write_at(position, buf).await
    }

    async fn read_at(&self, position: u64, len: usize) -> io::Result<Bytes> {
        self.inner.read_at(position, len).await
    }

    async fn len(&self) -> io::Result<u64> {
        self.inner.len().await
    }

    async fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len).await
    }

    async fn sync(&self) -> io::Result<()> {
        if let Some(delay) = self.points.delay(BuggifyPoint::FsyncSlow) {
            tokio::time::sleep(delay).await;
        }
        if self.points.fires(BuggifyPoint::FsyncFail) {
            return Err(io::Error::other(format!("buggify: fsync of {} failed", self.inner.path().display())));
        }
        self.inner.sync().await
    }
}
