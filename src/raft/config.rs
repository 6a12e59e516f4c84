//! The quorum's timers and limits, with Kafka's key names and defaults (REPLICATION.md §1.6).
//!
//! `controller.quorum.append.linger.ms` (25) is not here: batching proposals is the driver's
//! job (it calls [`super::RaftCore::propose`] with what it gathered), the core appends what it
//! is given at once.

/// Timers and limits of one quorum member.
///
/// Invariants (checked by [`RaftConfig::validate`]): every timer is positive;
/// `fetch_max_wait_ms < request_timeout_ms`, so a parked fetch is answered before the
/// follower gives up on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// `controller.quorum.election.timeout.ms` (1000): an election timeout is drawn in
    /// `[T, 2T)` each time a timer starts (Unattached, Prospective, Candidate, Resigned).
    pub election_timeout_ms: u64,
    /// `controller.quorum.fetch.timeout.ms` (2000): a voter Follower that hears nothing good
    /// from its leader this long starts a pre-vote. The leader resigns if fewer than a majority
    /// fetched within 1.5× this (check-quorum), and re-sends BeginQuorumEpoch every ½×.
    pub fetch_timeout_ms: u64,
    /// `controller.quorum.election.backoff.max.ms` (1000): the cap on the backoff after a
    /// lost election, and the base of the EndQuorumEpoch successor delays.
    pub election_backoff_max_ms: u64,
    /// `controller.quorum.request.timeout.ms` (2000): a request without an answer this long is
    /// forgotten (its late answer is ignored) and, where it matters, sent again.
    pub request_timeout_ms: u64,
    /// `controller.quorum.retry.backoff.ms` (20): the wait before retrying a failed fetch, and
    /// between an observer's attempts to find the leader.
    pub retry_backoff_ms: u64,
    /// The Fetch request's `MaxWaitMs` (KafkaRaftClient fixes it at 500): how long the leader
    /// parks a fetch that found nothing new.
    pub fetch_max_wait_ms: u64,
    /// The Fetch request's `MaxBytes` (8 MiB): payload bytes per response (at least one entry).
    /// Also the size of a FetchSnapshot chunk. Both are capped by
    /// [`ANSWER_MAX_PAYLOAD_BYTES`] (see [`RaftConfig::answer_max_bytes`]).
    pub fetch_max_bytes: usize,
    /// Test-only deliberate bugs, to prove the property harness can catch them.
    #[cfg(test)]
    pub(crate) fault: Option<super::core::TestFault>,
}

/// The most payload bytes one Fetch or FetchSnapshot answer carries, whatever
/// `fetch_max_bytes` says (a Fetch answer still carries at least one entry). The controllers'
/// framing is JSON, where a payload byte costs up to four characters, and a frame over 16 MiB
/// (`transport::MAX_FRAME_BYTES`) is refused: Kafka's 8 MiB answer would never arrive.
pub const ANSWER_MAX_PAYLOAD_BYTES: usize = 1 << 20;

impl Default for RaftConfig {
    fn default() -> RaftConfig {
        RaftConfig {
            election_timeout_ms: 1000,
            fetch_timeout_ms: 2000,
            election_backoff_max_ms: 1000,
            request_timeout_ms: 2000,
            retry_backoff_ms: 20,
            fetch_max_wait_ms: 500,
            fetch_max_bytes: 8 * 1024 * 1024,
            #[cfg(test)]
            fault: None,
        }
    }
}

impl RaftConfig {
    /// The payload bytes a Fetch answer may carry: `fetch_max_bytes`, at most
    /// [`ANSWER_MAX_PAYLOAD_BYTES`].
    pub fn answer_max_bytes(&self) -> usize {
        self.fetch_max_bytes.min(ANSWER_MAX_PAYLOAD_BYTES)
    }

    /// Checks the invariants in the type's doc comment; the message names the Kafka key.
    pub fn validate(&self) -> Result<(), String> {
        let timers = [
            ("controller.quorum.election.timeout.ms", self.election_timeout_ms),
            ("controller.quorum.fetch.timeout.ms", self.fetch_timeout_ms),
            ("controller.quorum.election.backoff.max.ms", self.election_backoff_max_ms),
            ("controller.quorum.request.timeout.ms", self.request_timeout_ms),
            ("controller.quorum.retry.backoff.ms", self.retry_backoff_ms),
            ("fetch max wait", self.fetch_max_wait_ms),
        ];
        for (key, value) in timers {
            if value == 0 {
                return Err(format!("{key} must be positive"));
            }
        }
        if self.fetch_max_wait_ms >= self.request_timeout_ms {
            return Err("controller.quorum.request.timeout.ms must exceed the fetch max wait".into());
        }
        if self.fetch_max_bytes == 0 {
            return Err("fetch max bytes must be positive".into());
        }
        Ok(())
    }

    /// Check-quorum's window: 1.5 × fetch timeout.
    pub fn check_quorum_ms(&self) -> u64 {
        self.fetch_timeout_ms * 3 / 2
    }

    /// BeginQuorumEpoch re-send period: ½ × fetch timeout.
    pub fn begin_quorum_resend_ms(&self) -> u64 {
        (self.fetch_timeout_ms / 2).max(1)
    }
}
