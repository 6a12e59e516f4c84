//! [`FileDisk`]: the production [`Disk`], real files through `std::fs`.
//!
//! Calls that may wait on the device (reads, fsyncs, metadata) go through [`blocking`],
//! which keeps the runtime's other tasks running meanwhile; writes, which land in the page
//! cache, run in place. This is the one place in seedlog allowed to
//! do that. Under `--cfg madsim` the module still compiles (madsim runs `spawn_blocking`
//! closures inline), but the simulator uses `MemDisk` instead.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // std::fs lives here

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use super::disk::{Disk, DiskFile, OpenMode};

/// Real files; paths are used as given (relative ones resolve against the working dir).
#[derive(Clone, Copy, Debug, Default)]
pub struct FileDisk {
    _private: (),
}

impl FileDisk {
    /// The disk of the machine.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Runs a blocking disk operation without stalling the runtime.
///
/// On a multi-thread runtime (production) the operation runs in place through
/// `block_in_place`, which hands this worker's other tasks to another thread first. A
/// `spawn_blocking` hop costs 10–30 µs of thread wake-ups per call, more than a 16 KiB
/// page-cache write itself (~5 µs), which made appends run at a quarter of raw `std::fs`
/// speed. Elsewhere (a current-thread runtime, where `block_in_place` panics, and madsim,
/// which has no `block_in_place`) the operation goes to `spawn_blocking`.
#[allow(unexpected_cfgs)] // `madsim` is set by the simulation build's RUSTFLAGS
async fn blocking<T, F>(op: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    #[cfg(not(madsim))]
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let flavor = Handle::try_current().map(|handle| handle.runtime_flavor());
        if flavor.is_ok_and(|flavor| flavor == RuntimeFlavor::MultiThread) {
            return tokio::task::block_in_place(op);
        }
    }
    #[allow(deprecated)] // madsim deprecates spawn_blocking; FileDisk is not used in simulation
    let handle = tokio::task::spawn_blocking(op);
    match handle.await {
        Ok(result) => result,
        Err(join_error) => Err(io::Error::other(format!("disk task failed: {join_error}"))),
    }
}

#[async_trait]
impl Disk for FileDisk {
    async fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn DiskFile>> {
        let path = path.to_path_buf();
        let opened = path.clone();
        let (file, len) = blocking(move || {
            let mut options = OpenOptions::new();
            options.read(true).write(true);
            match mode {
                OpenMode::Existing => {}
                OpenMode::Create => {
                    options.create(true);
                }
                OpenMode::CreateNew => {
                    options.create_new(true);
                }
            }
            let file = options.open(&opened)?;
            let len = file.metadata()?.len();
            Ok((file, len))
        })
        .await?;
        Ok(Arc::new(FileHandle { path, file: Arc::new(file), len: Arc::new(Mutex::new(len)) }))
    }

    async fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let dir = dir.to_path_buf();
        blocking(move || {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                let name = entry?.file_name().into_string().map_err(|name| {
                    let message = format!("non-UTF-8 file name {name:?} in {}", dir.display());
                    io::Error::new(io::ErrorKind::InvalidData, message)
                })?;
                names.push(name);
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn exists(&self, path: &Path) -> io::Result<bool> {
        let path = path.to_path_buf();
        blocking(move || path.try_exists()).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        blocking(move || std::fs::rename(from, to)).await
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        let path = path.to_path_buf();
        blocking(move || std::fs::remove_file(path)).await
    }

    async fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = dir.to_path_buf();
        blocking(move || std::fs::remove_dir(dir)).await
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let dir = dir.to_path_buf();
        blocking(move || std::fs::create_dir_all(dir)).await
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = dir.to_path_buf();
        blocking(move || File::open(dir)?.sync_all()).await
    }
}

/// An open file. Its length is tracked here rather than asked of the OS, so `append`
/// knows its position without O_APPEND and `len` costs no system call.
#[derive(Debug)]
struct FileHandle {
    path: PathBuf,
    file: Arc<File>,
    /// Length as this handle wrote it. Held during an append so appends never interleave.
    len: Arc<Mutex<u64>>,
}

impl FileHandle {
    fn tracked_len(&self) -> u64 {
        *self.len.lock().expect("file length lock")
    }
}

#[async_trait]
impl DiskFile for FileHandle {
    fn path(&self) -> &Path {
        &self.path
    }

    /// Runs in place, like Kafka's appends on its request threads: a write lands in the page
    /// cache in microseconds, less than handing the worker over would cost (measured: the
    /// hand-over made produce requests several times dearer). Reads, which may go to the
    /// device, and fsyncs still go through [`blocking`].
    async fn append(&self, buf: Bytes) -> io::Result<u64> {
        let mut len = self.len.lock().expect("file length lock");
        let position = *len;
        self.file.write_all_at(&buf, position)?;
        *len = position + buf.len() as u64;
        Ok(position)
    }

    /// In place, as [`append`](DiskFile::append).
    async fn write_at(&self, position: u64, buf: Bytes) -> io::Result<()> {
        let mut len = self.len.lock().expect("file length lock");
        self.file.write_all_at(&buf, position)?;
        *len = (*len).max(position + buf.len() as u64);
        Ok(())
    }

    async fn read_at(&self, position: u64, len: usize) -> io::Result<Bytes> {
        // The file's length bounds the buffer, so a bogus `len` cannot size an allocation.
        // Only a read reaching past this handle's tracked length asks the OS (another
        // handle may have extended the file).
        let tracked_len = self.tracked_len();
        let file = Arc::clone(&self.file);
        blocking(move || {
            let mut file_len = tracked_len;
            if position.saturating_add(len as u64) > tracked_len {
                file_len = file.metadata()?.len();
            }
            let available = usize::try_from(file_len.saturating_sub(position)).unwrap_or(usize::MAX);
            let len = len.min(available);
            let mut buf = vec![0u8; len];
            let mut filled = 0;
            while filled < len {
                match file.read_at(&mut buf[filled..], position + filled as u64) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(filled);
            Ok(Bytes::from(buf))
        })
        .await
    }

    async fn len(&self) -> io::Result<u64> {
        Ok(self.tracked_len())
    }

    async fn set_len(&self, new_len: u64) -> io::Result<()> {
        let (file, len) = (Arc::clone(&self.file), Arc::clone(&self.len));
        blocking(move || {
            let mut len = len.lock().expect("file length lock");
            file.set_len(new_len)?;
            *len = new_len;
            Ok(())
        })
        .await
    }

    async fn sync(&self) -> io::Result<()> {
        let file = Arc::clone(&self.file);
        blocking(move || file.sync_data()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Current-thread runtimes go through `spawn_blocking`.
    #[tokio::test]
    async fn round_trip_on_current_thread_runtime() {
        round_trip("current").await;
    }

    /// Multi-thread runtimes (production) go through `block_in_place`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn round_trip_on_multi_thread_runtime() {
        round_trip("multi").await;
    }

    async fn round_trip(flavor: &str) {
        let name = format!("seedlog-file-disk-{}-{flavor}", std::process::id());
        let root = std::env::temp_dir().join(name);
        let dir = root.join("topic-0");
        let disk = FileDisk::new();
        disk.create_dir_all(&dir).await.expect("create dir");

        let log = dir.join("00000000000000000000.log");
        let file = disk.open(&log, OpenMode::CreateNew).await.expect("create file");
        assert!(disk.open(&log, OpenMode::CreateNew).await.is_err(), "CreateNew twice");
        assert_eq!(file.append(Bytes::from_static(b"hello ")).await.expect("append"), 0);
        assert_eq!(file.append(Bytes::from_static(b"world")).await.expect("append"), 6);
        file.sync().await.expect("sync");
        disk.sync_dir(&dir).await.expect("sync dir");
        assert_eq!(&file.read_at(0, 100).await.expect("read")[..], b"hello world");
        assert_eq!(&file.read_at(6, 3).await.expect("read")[..], b"wor");
        assert!(file.read_at(50, 10).await.expect("read past end").is_empty());

        file.write_at(13, Bytes::from_static(b"!")).await.expect("write past end");
        assert_eq!(file.len().await.expect("len"), 14);
        assert_eq!(&file.read_at(11, 3).await.expect("read")[..], b"\0\0!");
        file.set_len(5).await.expect("truncate");
        assert_eq!(file.append(Bytes::from_static(b"!")).await.expect("append"), 5);
        drop(file);

        let reopened = disk.open(&log, OpenMode::Existing).await.expect("reopen");
        assert_eq!(reopened.len().await.expect("len"), 6);
        assert_eq!(&reopened.read_at(0, 6).await.expect("read")[..], b"hello!");

        let renamed = dir.join("00000000000000000000.log.deleted");
        disk.open(&dir.join("a.index"), OpenMode::Create).await.expect("create index");
        disk.rename(&log, &renamed).await.expect("rename");
        let names = disk.list_dir(&dir).await.expect("list");
        assert_eq!(names, vec!["00000000000000000000.log.deleted", "a.index"]);
        assert!(!disk.exists(&log).await.expect("exists"));
        disk.remove(&renamed).await.expect("remove");
        assert!(!disk.exists(&renamed).await.expect("exists"));
        let missing = disk.open(&log, OpenMode::Existing).await.expect_err("missing file");
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);

        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
