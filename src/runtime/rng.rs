//! Seeded randomness. Nothing in seedlog draws from an ambient source: a node gets one
//! [`NodeRng`] from whoever builds it (the simulator derives it from the run's seed, the
//! production binary from the OS once at start-up) and hands parts of it down.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A node's random source. Deterministic for a given seed.
pub type NodeRng = StdRng;

/// A random source from a seed (the simulator's way).
pub fn seeded(seed: u64) -> NodeRng {
    StdRng::seed_from_u64(seed)
}

/// Derives an independent child source, so two consumers of randomness do not perturb
/// each other's sequences when one of them draws more.
pub fn fork(parent: &mut NodeRng) -> NodeRng {
    StdRng::seed_from_u64(parent.random())
}

/// A random source seeded by the OS: production only, read once at start-up.
#[allow(clippy::disallowed_methods)]
pub fn from_os() -> NodeRng {
    StdRng::from_os_rng()
}
