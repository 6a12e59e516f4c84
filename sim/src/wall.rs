//! The simulator's own wall clock: how long a sweep takes for the person waiting on it
//! (seeds per minute, the ratio of simulated to wall time, an ETA). Never read inside a
//! simulation, whose time is madsim's.

use std::time::{Duration, Instant};

/// Wall time since it was started.
#[derive(Clone, Copy, Debug)]
pub struct WallClock(Instant);

impl WallClock {
    /// Starts measuring now.
    #[allow(clippy::disallowed_methods)] // real time on purpose: the sweep's own duration
    pub fn start() -> Self {
        WallClock(Instant::now())
    }

    /// Wall time since the start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
