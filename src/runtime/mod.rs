//! The seam between seedlog and the world: disk, wall clock, randomness, spawning, and the
//! simulator's fault points (held ones, and buggify's probabilistic ones).
//!
//! Code outside this module never reads ambient time, draws ambient randomness, starts
//! threads or touches files directly (clippy's `disallowed-methods` enforces it); it is
//! handed what it needs from here, so the simulator can replace each piece.

mod buggify;
#[cfg(madsim)]
mod buggify_disk;
mod clock;
mod disk;
mod fault_points;
mod file_disk;
mod mem_disk;
mod rng;

pub use buggify::{Buggify, BuggifyPoint};
pub use clock::Clock;
pub use disk::{Disk, DiskFile, OpenMode};
pub use fault_points::{FaultPoint, FaultPoints};
pub use file_disk::FileDisk;
pub use mem_disk::{MemDisk, MemDiskFaults};
pub use rng::{fork, from_os, seeded, NodeRng};

/// Monotonic time from the runtime (simulated under madsim, where it is the same source as
/// `std::time::Instant`, which is why this is the one place that reads it).
#[allow(clippy::disallowed_methods)]
pub fn now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// Spawns a task on the current runtime (the current node's, in simulation).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future)
}
