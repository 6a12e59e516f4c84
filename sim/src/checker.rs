//! Checkers: online observers of the trace that report invariant violations.
//!
//! A checker sees every [`TraceEvent`] of a run in order, as it happens, and at the end of the
//! run returns what it found. Each checker's file starts with its one-line definition, e.g.
//! `//! MonotonicHighWatermark: a partition's high watermark never moves backwards on a leader.`
//!
//! Checkers run inside the trace layer: they must not emit `tracing` events themselves.

use std::fmt;

use crate::trace::TraceEvent;

/// An invariant watched over one run.
pub trait Checker: Send {
    /// The checker's name, as in the design docs (`NoAckedRecordLost`).
    fn name(&self) -> &'static str;
    /// Observes one event. Violations found here are buffered and returned by `finish`.
    fn on_event(&mut self, ev: &TraceEvent);
    /// Called once after the run (also after a panic): the violations found online plus
    /// whatever can only be judged at the end (liveness, "every acked record was read").
    fn finish(&mut self) -> Vec<Violation>;
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The checker that found it.
    pub checker: &'static str,
    /// Simulated time (ns since the run started) of the event that showed it.
    pub time_ns: u64,
    /// What went wrong, in the system's own terms.
    pub message: String,
}

impl Violation {
    /// A violation found by `checker` at `time_ns`.
    pub fn new(checker: &'static str, time_ns: u64, message: impl Into<String>) -> Self {
        Violation { checker, time_ns, message: message.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.time_ns / 1_000_000;
        let us = (self.time_ns / 1_000) % 1_000;
        write!(f, "{} at {ms}.{us:03}ms: {}", self.checker, self.message)
    }
}
