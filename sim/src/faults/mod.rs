//! Faults as data: a seed's [`FaultSchedule`] (drawn from a script's ranges or a swarm's
//! probabilities), the [`Target`]s its steps act on, and the [`FaultRunner`] that plays it
//! against a simulated cluster.

pub mod execute;
pub mod schedule;
pub mod swarm;
pub mod target;
pub mod triggered;

pub use execute::FaultRunner;
pub use schedule::{Fault, FaultSchedule, ScheduledFault};
pub use swarm::SwarmSpec;
pub use target::Target;
