//! [`MemDisk`]: the disk of the simulator and of unit tests. Files live in memory, survive
//! node restarts (the simulator owns the disk, not the node) and fail the way real disks
//! fail, drawn from a seeded RNG so a seed replays the same faults.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::disk::{Disk, DiskFile, OpenMode};

/// The granularity at which a crash tears a file (a page / filesystem block).
pub const BLOCK_BYTES: usize = 4096;

/// Which faults a [`MemDisk`] injects. `Default` (= [`MemDiskFaults::none`]) injects none.
///
/// Rates are probabilities per operation in `[0, 1]`. The three `crash_*_weight`s choose,
/// for each file with unsynced changes at a crash, how much of them survives (see
/// [`MemDisk`]); all zero means "lost".
#[derive(Clone, Debug, PartialEq)]
pub struct MemDiskFaults {
    /// ENOSPC: the total length of all live files may not exceed this.
    pub capacity_bytes: Option<u64>,
    /// Probability that a `read_at` fails with an injected EIO.
    pub read_error_rate: f64,
    /// Probability that a `read_at` returns its data with one bit flipped (transiently).
    pub bit_flip_rate: f64,
    /// Probability that a `sync` of a file with unsynced changes fails and loses them.
    pub sync_error_rate: f64,
    /// Latency of every operation but `len`, uniform in `[min, max]`; `None` never sleeps.
    pub latency: Option<(Duration, Duration)>,
    /// A drive that acknowledges a flush without persisting anything (a volatile write
    /// cache that lies): `sync` succeeds and changes nothing. No storage can be correct on
    /// it; it exists to prove that the simulator's checkers catch lost synced data.
    pub lying_fsync: bool,
    /// Weight of crash outcome 1: the unsynced changes are lost.
    pub crash_lost_weight: u32,
    /// Weight of crash outcome 2: a block-aligned prefix of the new content survives.
    pub crash_torn_prefix_weight: u32,
    /// Weight of crash outcome 3: the new size survives, unwritten blocks read as zeros.
    pub crash_size_without_data_weight: u32,
}

impl MemDiskFaults {
    /// No faults and no latency; the three crash outcomes equally likely.
    pub fn none() -> Self {
        Self {
            capacity_bytes: None,
            read_error_rate: 0.0,
            bit_flip_rate: 0.0,
            sync_error_rate: 0.0,
            latency: None,
            lying_fsync: false,
            crash_lost_weight: 1,
            crash_torn_prefix_weight: 1,
            crash_size_without_data_weight: 1,
        }
    }

    /// A moderately hostile disk for simulation runs: rare read errors, bit flips and fsync
    /// failures, and SSD-like latency (50 µs to 2 ms). No capacity limit.
    pub fn typical() -> Self {
        Self {
            read_error_rate: 0.001,
            bit_flip_rate: 0.001,
            sync_error_rate: 0.0005,
            latency: Some((Duration::from_micros(50), Duration::from_millis(2))),
            ..Self::none()
        }
    }
}

impl Default for MemDiskFaults {
    fn default() -> Self {
        Self::none()
    }
}

/// An in-memory [`Disk`] with a documented fault model.
///
/// Fault model (what a real disk and Linux filesystem can do, made reproducible):
/// - A file is an inode with two contents: `volatile` (what reads see, the page cache) and
///   `durable` (what survives a crash). Writes change `volatile`; `sync` copies it to
///   `durable`.
/// - A directory maps names to inodes, again as a volatile and a durable view. Creating a
///   file, `rename` and `remove` change the volatile view; `sync_dir` makes it durable.
///   Directories themselves are durable as soon as `create_dir_all` (or a directory
///   `rename`) returns: a simplification, as seedlog creates its directories at start-up.
///   Paths are used as given, minus `.` components; `/` and `` (the relative root) exist.
/// - [`MemDisk::crash`] (the simulator calls it when it kills the node) resets every
///   directory to its durable view, drops inodes no longer named anywhere and, for each
///   surviving file with unsynced changes, picks one outcome by the `crash_*_weight`s of
///   [`MemDiskFaults`], with a cut `c` drawn uniformly among the multiples of
///   [`BLOCK_BYTES`] in `0..=ceil(volatile_len / BLOCK_BYTES) * BLOCK_BYTES`:
///   1. lost: the durable content;
///   2. torn prefix: positions `< c` from volatile, later ones from durable (if longer);
///   3. size without data (ext4 delayed allocation): volatile's length, positions `< c`
///      from volatile, later ones from durable where it has them, zeros elsewhere.
///
///   For 2 and 3, `c >= volatile_len` yields exactly the volatile content. Every handle
///   opened before the crash is stale afterwards: all its operations fail.
/// - A failed `sync` (probability `sync_error_rate`, only when there is something to
///   write) reports the error once and loses the file's unsynced changes at once: volatile
///   reverts to durable. Linux keeps the stale pages readable instead, which is equivalent
///   for a caller that treats a failed fsync as fatal, as it must. The next sync succeeds.
/// - A write that would make the live files' total length exceed `capacity_bytes` fails
///   with `StorageFull` and changes nothing. A file is live while it is named in a volatile
///   directory view or open; a removed file whose removal is not yet durable counts no more.
/// - `read_at` fails with an injected EIO at `read_error_rate`, and at `bit_flip_rate`
///   returns its data with one random bit flipped; the stored bytes are untouched, so a
///   re-read may succeed. Storage must catch flips by CRC.
/// - Every operation but `len` first sleeps a latency drawn from `latency` (simulated time
///   under madsim); with `None` nothing sleeps.
///
/// Invariants:
/// - all randomness comes from one `StdRng` seeded at construction, and maps are ordered
///   (`BTreeMap`), so outcomes depend only on the seed and the sequence of operations;
/// - for every inode, `volatile[..dirty_from] == durable[..dirty_from]`, and
///   `dirty_from == None` implies `volatile == durable`;
/// - an inode's link counts equal the number of volatile / durable directory entries
///   naming it; an inode with no link and no open handle is dropped;
/// - a failed operation changes nothing (except a failed `sync`, which loses exactly the
///   unsynced changes of that file);
/// - the state lock is never held across an await.
#[derive(Clone)]
pub struct MemDisk {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MemDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemDisk").finish_non_exhaustive()
    }
}

struct State {
    faults: MemDiskFaults,
    rng: StdRng,
    /// Bumped by every crash; handles from an older generation are stale.
    generation: u64,
    next_inode: u64,
    inodes: BTreeMap<u64, Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    /// Fsyncs of a file that had unsynced data.
    file_syncs: u64,
}

#[derive(Default)]
struct Inode {
    volatile: Vec<u8>,
    durable: Vec<u8>,
    /// Lowest position changed (written, zero-filled or truncated) since the last sync.
    dirty_from: Option<usize>,
    volatile_links: u32,
    durable_links: u32,
    open_handles: u32,
}

#[derive(Default)]
struct Dir {
    volatile: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
}

#[derive(Clone, Copy)]
enum CrashOutcome {
    Lost,
    TornPrefix,
    SizeWithoutData,
}

impl MemDisk {
    /// See [`BLOCK_BYTES`].
    pub const BLOCK_BYTES: usize = BLOCK_BYTES;

    /// A disk without faults or latency (unit tests). The seed still drives crash outcomes.
    pub fn new(seed: u64) -> Self {
        Self::with_faults(seed, MemDiskFaults::none())
    }

    /// A disk injecting `faults`, drawn from a `StdRng` seeded with `seed`.
    pub fn with_faults(seed: u64, faults: MemDiskFaults) -> Self {
        let state = State {
            faults,
            rng: StdRng::seed_from_u64(seed),
            generation: 0,
            next_inode: 0,
            inodes: BTreeMap::new(),
            dirs: empty_dirs(),
            file_syncs: 0,
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Changes the faults from now on (e.g. none before a final check).
    pub fn set_faults(&self, faults: MemDiskFaults) {
        self.lock().faults = faults;
    }

    /// The node died: unsynced state is lost or torn as the type's docs describe.
    pub fn crash(&self) {
        self.lock().crash(false);
    }

    /// A crash in which every unsynced change is lost (outcome 1 for every file).
    pub fn crash_losing_all_unsynced(&self) {
        self.lock().crash(true);
    }

    /// The disk was swapped for a new, empty one while its node was down (a failed disk
    /// replaced, KIP-903's story): every file and directory is gone, synced or not, and
    /// handles opened before are stale. The faults and the random source stay.
    pub fn replace_with_empty(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.inodes.clear();
        state.dirs = empty_dirs();
    }

    /// Names of the files in `dir` (volatile view, sorted); empty if `dir` does not exist.
    pub fn file_names(&self, dir: &Path) -> Vec<String> {
        let state = self.lock();
        state.dirs.get(&normalize(dir)).map(|d| d.volatile.keys().cloned().collect()).unwrap_or_default()
    }

    /// The content a read would see at `path`, without faults or latency.
    pub fn file_contents(&self, path: &Path) -> Option<Bytes> {
        let state = self.lock();
        let id = state.lookup(&normalize(path)).ok()?;
        state.inodes.get(&id).map(|inode| Bytes::copy_from_slice(&inode.volatile))
    }

    /// How many fsyncs of a file with unsynced data there have been (what group commit
    /// saves).
    pub fn file_syncs(&self) -> u64 {
        self.lock().file_syncs
    }

    /// Total length of the live files (the quantity `capacity_bytes` limits).
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("mem disk lock")
    }
}

/// The directories of a new disk: its root.
fn empty_dirs() -> BTreeMap<PathBuf, Dir> {
    let mut dirs = BTreeMap::new();
    dirs.insert(PathBuf::new(), Dir::default());
    dirs.insert(PathBuf::from("/"), Dir::default());
    dirs
}

/// Sleeps the drawn latency (without holding the lock), then runs `op` under the lock.
async fn after_latency<T>(state: &Mutex<State>, op: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
    let delay = state.lock().expect("mem disk lock").draw_latency();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut state = state.lock().expect("mem disk lock");
    op(&mut state)
}

#[async_trait]
impl Disk for MemDisk {
    async fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn DiskFile>> {
        let path = normalize(path);
        let (inode, generation) = after_latency(&self.state, |s| s.open(&path, mode)).await?;
        Ok(Arc::new(MemFile { state: Arc::clone(&self.state), path, inode, generation }))
    }

    async fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        after_latency(&self.state, |s| s.list_dir(&normalize(dir))).await
    }

    async fn exists(&self, path: &Path) -> io::Result<bool> {
        after_latency(&self.state, |s| Ok(s.exists(&normalize(path)))).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        after_latency(&self.state, |s| s.rename(&normalize(from), &normalize(to))).await
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        after_latency(&self.state, |s| s.remove(&normalize(path))).await
    }

    async fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        after_latency(&self.state, |s| s.remove_dir(&normalize(dir))).await
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        after_latency(&self.state, |s| s.create_dir_all(&normalize(dir))).await
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        after_latency(&self.state, |s| s.sync_dir(&normalize(dir))).await
    }
}

/// An open file of a [`MemDisk`]: an inode id, valid for one crash generation.
struct MemFile {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: u64,
    generation: u64,
}

impl fmt::Debug for MemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFile").field("path", &self.path).field("inode", &self.inode).finish()
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        // No panic in drop: a poisoned lock means a test already failed.
        if let Ok(mut state) = self.state.lock() {
            if state.generation == self.generation {
                if let Some(inode) = state.inodes.get_mut(&self.inode) {
                    inode.open_handles = inode.open_handles.saturating_sub(1);
                }
                state.collect(self.inode);
            }
        }
    }
}

#[async_trait]
impl DiskFile for MemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    async fn append(&self, buf: Bytes) -> io::Result<u64> {
        after_latency(&self.state, |s| {
            let position = s.inode(self.inode, self.generation)?.volatile.len();
            s.write(self.inode, position, &buf)?;
            Ok(position as u64)
        })
        .await
    }

    async fn write_at(&self, position: u64, buf: Bytes) -> io::Result<()> {
        after_latency(&self.state, |s| {
            s.inode(self.inode, self.generation)?;
            s.write(self.inode, to_usize(position)?, &buf)
        })
        .await
    }

    async fn read_at(&self, position: u64, len: usize) -> io::Result<Bytes> {
        after_latency(&self.state, |s| s.read(self.inode, self.generation, position, len)).await
    }

    async fn len(&self) -> io::Result<u64> {
        let state = self.state.lock().expect("mem disk lock");
        Ok(state.inode(self.inode, self.generation)?.volatile.len() as u64)
    }

    async fn set_len(&self, len: u64) -> io::Result<()> {
        after_latency(&self.state, |s| s.set_len(self.inode, self.generation, to_usize(len)?)).await
    }

    async fn sync(&self) -> io::Result<()> {
        after_latency(&self.state, |s| s.sync(self.inode, self.generation)).await
    }
}

impl State {
    fn draw_latency(&mut self) -> Option<Duration> {
        let (min, max) = self.faults.latency?;
        if max <= min {
            return Some(min);
        }
        let min_ns = u64::try_from(min.as_nanos()).unwrap_or(u64::MAX);
        let max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(self.rng.random_range(min_ns..=max_ns)))
    }

    /// Draws an event of probability `rate`; draws nothing when the rate is zero.
    fn chance(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random::<f64>() < rate
    }

    fn inode(&self, id: u64, generation: u64) -> io::Result<&Inode> {
        if generation != self.generation {
            return Err(stale());
        }
        self.inodes.get(&id).ok_or_else(stale)
    }

    fn inode_mut(&mut self, id: u64, generation: u64) -> io::Result<&mut Inode> {
        if generation != self.generation {
            return Err(stale());
        }
        self.inodes.get_mut(&id).ok_or_else(stale)
    }

    fn used_bytes(&self) -> u64 {
        let live = self.inodes.values().filter(|i| i.volatile_links > 0 || i.open_handles > 0);
        live.map(|i| i.volatile.len() as u64).sum()
    }

    /// `StorageFull` if growing the live files by `growth` bytes would exceed the capacity.
    fn ensure_space(&self, growth: usize) -> io::Result<()> {
        match self.faults.capacity_bytes {
            Some(capacity) if self.used_bytes().saturating_add(growth as u64) > capacity => {
                Err(io::Error::new(io::ErrorKind::StorageFull, "ENOSPC: mem disk capacity reached"))
            }
            _ => Ok(()),
        }
    }

    /// Writes `buf` at `position` of a valid inode, zero-filling any gap past the end.
    fn write(&mut self, id: u64, position: usize, buf: &[u8]) -> io::Result<()> {
        let end = position.checked_add(buf.len()).ok_or_else(|| invalid("write past usize"))?;
        let old_len = self.inodes.get(&id).map_or(0, |i| i.volatile.len());
        self.ensure_space(end.saturating_sub(old_len))?;
        let inode = self.inodes.get_mut(&id).ok_or_else(stale)?;
        if end > old_len {
            inode.volatile.resize(end, 0);
        }
        inode.volatile[position..end].copy_from_slice(buf);
        inode.mark_dirty(position.min(old_len));
        Ok(())
    }

    fn read(&mut self, id: u64, generation: u64, position: u64, len: usize) -> io::Result<Bytes> {
        self.inode(id, generation)?;
        if self.chance(self.faults.read_error_rate) {
            return Err(io::Error::other("EIO: injected read error"));
        }
        let volatile = &self.inode(id, generation)?.volatile;
        let start = usize::try_from(position).unwrap_or(usize::MAX).min(volatile.len());
        let end = start.saturating_add(len).min(volatile.len());
        let mut data = volatile[start..end].to_vec();
        if !data.is_empty() && self.chance(self.faults.bit_flip_rate) {
            let bit = self.rng.random_range(0..data.len() * 8);
            data[bit / 8] ^= 1 << (bit % 8);
        }
        Ok(Bytes::from(data))
    }

    fn set_len(&mut self, id: u64, generation: u64, len: usize) -> io::Result<()> {
        let old_len = self.inode(id, generation)?.volatile.len();
        self.ensure_space(len.saturating_sub(old_len))?;
        let inode = self.inode_mut(id, generation)?;
        if len != old_len {
            inode.volatile.resize(len, 0);
            inode.mark_dirty(len.min(old_len));
        }
        Ok(())
    }

    fn sync(&mut self, id: u64, generation: u64) -> io::Result<()> {
        if self.inode(id, generation)?.dirty_from.is_none() {
            return Ok(());
        }
        self.file_syncs += 1;
        let failed = self.chance(self.faults.sync_error_rate);
        if self.faults.lying_fsync {
            return Ok(());
        }
        let inode = self.inode_mut(id, generation)?;
        if failed {
            inode.volatile.clone_from(&inode.durable);
            inode.dirty_from = None;
            return Err(io::Error::other("EIO: injected fsync failure, unsynced data lost"));
        }
        inode.flush();
        Ok(())
    }

    /// The inode named by `path` in the volatile view.
    fn lookup(&self, path: &Path) -> io::Result<u64> {
        let (parent, name) = split(path)?;
        let dir = self.dirs.get(parent).ok_or_else(|| not_found(parent))?;
        dir.volatile.get(name).copied().ok_or_else(|| not_found(path))
    }

    fn open(&mut self, path: &Path, mode: OpenMode) -> io::Result<(u64, u64)> {
        if self.dirs.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, path.display().to_string()));
        }
        let (parent, name) = split(path)?;
        let dir = self.dirs.get_mut(parent).ok_or_else(|| not_found(parent))?;
        let id = match (dir.volatile.get(name).copied(), mode) {
            (Some(_), OpenMode::CreateNew) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, path.display().to_string()))
            }
            (Some(id), _) => id,
            (None, OpenMode::Existing) => return Err(not_found(path)),
            (None, OpenMode::Create | OpenMode::CreateNew) => {
                let id = self.next_inode;
                self.next_inode += 1;
                dir.volatile.insert(name.to_owned(), id);
                self.inodes.insert(id, Inode { volatile_links: 1, ..Inode::default() });
                id
            }
        };
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.open_handles += 1;
        }
        Ok((id, self.generation))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = self.dirs.get(dir).ok_or_else(|| not_found(dir))?;
        let mut names: Vec<String> = entries.volatile.keys().cloned().collect();
        let subdirs = self.dirs.keys().filter(|d| d.parent() == Some(dir));
        names.extend(subdirs.filter_map(|d| d.file_name()?.to_str().map(str::to_owned)));
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        self.dirs.contains_key(path) || self.lookup(path).is_ok()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        if self.dirs.contains_key(from) {
            return self.rename_dir(from, to);
        }
        let id = self.lookup(from)?;
        if from == to {
            return Ok(());
        }
        if self.dirs.contains_key(to) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, to.display().to_string()));
        }
        let (to_parent, to_name) = split(to)?;
        let to_dir = self.dirs.get_mut(to_parent).ok_or_else(|| not_found(to_parent))?;
        let replaced = to_dir.volatile.insert(to_name.to_owned(), id);
        let (from_parent, from_name) = split(from)?;
        if let Some(from_dir) = self.dirs.get_mut(from_parent) {
            from_dir.volatile.remove(from_name);
        }
        if let Some(replaced) = replaced {
            self.unlink_volatile(replaced);
        }
        Ok(())
    }

    /// Moves a directory and everything under it; durable at once, like directory creation.
    fn rename_dir(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        if self.exists(to) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, to.display().to_string()));
        }
        if to.starts_with(from) || from.parent().is_none() {
            return Err(invalid("cannot move a directory into itself or move a root"));
        }
        let to_parent = to.parent().unwrap_or(Path::new(""));
        if !self.dirs.contains_key(to_parent) {
            return Err(not_found(to_parent));
        }
        let moved: Vec<PathBuf> = self.dirs.keys().filter(|d| d.starts_with(from)).cloned().collect();
        for old in moved {
            if let (Some(dir), Ok(rest)) = (self.dirs.remove(&old), old.strip_prefix(from)) {
                self.dirs.insert(to.join(rest), dir);
            }
        }
        Ok(())
    }

    fn remove(&mut self, path: &Path) -> io::Result<()> {
        if self.dirs.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, path.display().to_string()));
        }
        let id = self.lookup(path)?;
        let (parent, name) = split(path)?;
        if let Some(dir) = self.dirs.get_mut(parent) {
            dir.volatile.remove(name);
        }
        self.unlink_volatile(id);
        Ok(())
    }

    /// Directories are durable as soon as they change (see the type's fault model).
    fn remove_dir(&mut self, dir: &Path) -> io::Result<()> {
        let entries = self.dirs.get(dir).ok_or_else(|| not_found(dir))?;
        let has_subdirs = self.dirs.keys().any(|d| d != dir && d.starts_with(dir));
        if !entries.volatile.is_empty() || has_subdirs {
            return Err(io::Error::new(io::ErrorKind::DirectoryNotEmpty, dir.display().to_string()));
        }
        for id in entries.durable.values().copied().collect::<Vec<_>>() {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.durable_links = inode.durable_links.saturating_sub(1);
            }
            self.collect(id);
        }
        self.dirs.remove(dir);
        Ok(())
    }

    fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        let ancestors: Vec<&Path> = dir.ancestors().collect();
        if let Some(file) = ancestors.iter().find(|a| self.lookup(a).is_ok()) {
            let message = format!("{} is a file", file.display());
            return Err(io::Error::new(io::ErrorKind::NotADirectory, message));
        }
        for ancestor in ancestors {
            self.dirs.entry(ancestor.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        let entries = self.dirs.get_mut(dir).ok_or_else(|| not_found(dir))?;
        let old = std::mem::replace(&mut entries.durable, entries.volatile.clone());
        let new: Vec<u64> = entries.durable.values().copied().collect();
        for id in new {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.durable_links += 1;
            }
        }
        for id in old.into_values() {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.durable_links = inode.durable_links.saturating_sub(1);
            }
            self.collect(id);
        }
        Ok(())
    }

    fn unlink_volatile(&mut self, id: u64) {
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.volatile_links = inode.volatile_links.saturating_sub(1);
        }
        self.collect(id);
    }

    /// Drops the inode if nothing names or holds it any more.
    fn collect(&mut self, id: u64) {
        let unused =
            self.inodes.get(&id).is_some_and(|i| i.volatile_links == 0 && i.durable_links == 0 && i.open_handles == 0);
        if unused {
            self.inodes.remove(&id);
        }
    }

    fn crash(&mut self, lose_all_unsynced: bool) {
        self.generation += 1;
        for inode in self.inodes.values_mut() {
            inode.volatile_links = 0;
            inode.durable_links = 0;
            inode.open_handles = 0;
        }
        for dir in self.dirs.values_mut() {
            dir.volatile.clone_from(&dir.durable);
            for id in dir.durable.values() {
                if let Some(inode) = self.inodes.get_mut(id) {
                    inode.volatile_links += 1;
                    inode.durable_links += 1;
                }
            }
        }
        self.inodes.retain(|_, inode| inode.durable_links > 0);
        let mut counts = [0usize; 3];
        let Self { inodes, rng, faults, .. } = self;
        for inode in inodes.values_mut().filter(|i| i.dirty_from.is_some()) {
            let outcome = if lose_all_unsynced { CrashOutcome::Lost } else { pick(rng, faults) };
            let blocks = inode.volatile.len().div_ceil(BLOCK_BYTES);
            let content = match outcome {
                CrashOutcome::Lost => inode.durable.clone(),
                CrashOutcome::TornPrefix => {
                    let cut = BLOCK_BYTES * rng.random_range(0..=blocks);
                    torn_prefix(&inode.volatile, &inode.durable, cut)
                }
                CrashOutcome::SizeWithoutData => {
                    let cut = BLOCK_BYTES * rng.random_range(0..=blocks);
                    size_without_data(&inode.volatile, &inode.durable, cut)
                }
            };
            counts[outcome as usize] += 1;
            inode.durable.clone_from(&content);
            inode.volatile = content;
            inode.dirty_from = None;
        }
        let [lost, torn, zeroed] = counts;
        tracing::debug!(name: "disk_crashed", lost, torn, zeroed);
    }
}

impl Inode {
    fn mark_dirty(&mut self, from: usize) {
        self.dirty_from = Some(self.dirty_from.map_or(from, |d| d.min(from)));
    }

    /// Makes the volatile content durable, copying only what changed since the last sync.
    fn flush(&mut self) {
        if let Some(dirty_from) = self.dirty_from.take() {
            let from = dirty_from.min(self.volatile.len());
            self.durable.resize(self.volatile.len(), 0);
            self.durable[from..].copy_from_slice(&self.volatile[from..]);
        }
    }
}

fn pick(rng: &mut StdRng, faults: &MemDiskFaults) -> CrashOutcome {
    let lost = u64::from(faults.crash_lost_weight);
    let torn = u64::from(faults.crash_torn_prefix_weight);
    let total = lost + torn + u64::from(faults.crash_size_without_data_weight);
    if total == 0 {
        return CrashOutcome::Lost;
    }
    match rng.random_range(0..total) {
        r if r < lost => CrashOutcome::Lost,
        r if r < lost + torn => CrashOutcome::TornPrefix,
        _ => CrashOutcome::SizeWithoutData,
    }
}

/// Outcome 2: volatile below the cut, durable above it.
fn torn_prefix(volatile: &[u8], durable: &[u8], cut: usize) -> Vec<u8> {
    if cut >= volatile.len() {
        return volatile.to_vec();
    }
    let mut content = volatile[..cut].to_vec();
    content.extend_from_slice(durable.get(cut..).unwrap_or_default());
    content
}

/// Outcome 3: volatile's length; volatile below the cut, durable or zeros above it.
fn size_without_data(volatile: &[u8], durable: &[u8], cut: usize) -> Vec<u8> {
    if cut >= volatile.len() {
        return volatile.to_vec();
    }
    let mut content = volatile[..cut].to_vec();
    content.extend_from_slice(durable.get(cut..volatile.len().min(durable.len())).unwrap_or_default());
    content.resize(volatile.len(), 0);
    content
}

/// One spelling per path: `a/./b/` and `a/b` name the same entry.
fn normalize(path: &Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

/// A file path's parent directory (`""` for a bare name) and its name.
fn split(path: &Path) -> io::Result<(&Path, &str)> {
    let name = path.file_name().and_then(|n| n.to_str());
    let name = name.ok_or_else(|| invalid("path has no UTF-8 file name"))?;
    Ok((path.parent().unwrap_or(Path::new("")), name))
}

fn to_usize(value: u64) -> io::Result<usize> {
    usize::try_from(value).map_err(|_| invalid("position does not fit in memory"))
}

fn stale() -> io::Error {
    io::Error::other("ESTALE: file handle opened before the node crashed")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.display().to_string())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}

#[cfg(test)]
mod tests;
