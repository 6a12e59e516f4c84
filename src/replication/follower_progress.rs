//! What the leader knows about one follower (Kafka's `Replica` and its `ReplicaState`): how far
//! its log reaches, and since when it has been caught up. The ISR shrink, the ISR expansion and
//! the high watermark all read it.
//!
//! Decision (differs from Kafka): "never" is `None`, not 0. Kafka sets `lastCaughtUpTimeMs = 0`
//! for an out-of-ISR follower on a new leader epoch, which is "long ago" on a wall clock; a
//! simulated clock starts at 0, where 0 would read as "just now" and make every follower look
//! caught up for the first `replica.lag.time.max.ms`.

/// One remote replica, as the leader sees it through its fetches.
///
/// Invariants:
/// - `last_fetch_leader_log_end_offset` and `last_fetch_time_ms` are both known or both unknown;
/// - `last_caught_up_time_ms <= last_fetch_time_ms` once a fetch has been recorded (it only
///   takes the time of a fetch, or the time the leader epoch started, which precedes every fetch
///   recorded in it);
/// - `log_start_offset <= log_end_offset` when both are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerProgress {
    replica_id: i32,
    /// The follower's last valid `FetchOffset` in this leader epoch; `None` until its first
    /// valid fetch in the epoch (a new leader cannot trust what the old one saw).
    log_end_offset: Option<i64>,
    log_start_offset: Option<i64>,
    /// The `ReplicaEpoch` of its last valid fetch (-1 when the follower sent none).
    broker_epoch: Option<i64>,
    last_caught_up_time_ms: Option<i64>,
    /// The leader's log end offset at the follower's previous fetch (at least that: it is a max).
    last_fetch_leader_log_end_offset: Option<i64>,
    last_fetch_time_ms: Option<i64>,
}

impl FollowerProgress {
    /// The follower's state at the start of a leader epoch (Kafka's `resetReplicaState` for a
    /// new leader): nothing known, and caught up "now" only if it is in the ISR, so that an ISR
    /// follower gets a full `replica.lag.time.max.ms` to fetch before it is removed.
    pub fn new_in_epoch(replica_id: i32, now_ms: i64, in_isr: bool) -> Self {
        let progress = FollowerProgress {
            replica_id,
            log_end_offset: None,
            log_start_offset: None,
            broker_epoch: None,
            last_caught_up_time_ms: in_isr.then_some(now_ms),
            last_fetch_leader_log_end_offset: None,
            last_fetch_time_ms: None,
        };
        progress.check_invariants();
        progress
    }

    pub fn replica_id(&self) -> i32 {
        self.replica_id
    }

    pub fn log_end_offset(&self) -> Option<i64> {
        self.log_end_offset
    }

    pub fn log_start_offset(&self) -> Option<i64> {
        self.log_start_offset
    }

    pub fn broker_epoch(&self) -> Option<i64> {
        self.broker_epoch
    }

    pub fn last_caught_up_time_ms(&self) -> Option<i64> {
        self.last_caught_up_time_ms
    }

    pub fn last_fetch_leader_log_end_offset(&self) -> Option<i64> {
        self.last_fetch_leader_log_end_offset
    }

    pub fn last_fetch_time_ms(&self) -> Option<i64> {
        self.last_fetch_time_ms
    }

    /// Whether a fetch carrying `broker_epoch` comes from an older incarnation than one already
    /// seen (Kafka: `brokerEpoch != -1 && cached > brokerEpoch`): it must not move this state.
    pub fn is_stale_broker_epoch(&self, broker_epoch: i64) -> bool {
        broker_epoch != -1 && self.broker_epoch.is_some_and(|cached| cached > broker_epoch)
    }

    /// Records a valid fetch at `now_ms` from `fetch_offset` while the leader's log ended at
    /// `leader_log_end_offset` (REPLICATION.md §3.3). The follower was caught up at this fetch
    /// if it asked for the leader's end; else it was caught up as of its previous fetch if it
    /// now reaches what the leader had then. Kafka looks back one fetch only.
    pub fn record_fetch(
        &mut self,
        now_ms: i64,
        fetch_offset: i64,
        log_start_offset: i64,
        broker_epoch: i64,
        leader_log_end_offset: i64,
    ) {
        assert!(!self.is_stale_broker_epoch(broker_epoch), "a stale broker epoch is refused before recording");
        let caught_up_at = if fetch_offset >= leader_log_end_offset {
            Some(now_ms)
        } else if self.last_fetch_leader_log_end_offset.is_some_and(|previous| fetch_offset >= previous) {
            self.last_fetch_time_ms
        } else {
            None
        };
        self.last_caught_up_time_ms = self.last_caught_up_time_ms.max(caught_up_at);
        self.log_end_offset = Some(fetch_offset);
        // A follower's log start never passes its end; a fetch saying otherwise is clamped so
        // the leader's picture stays a possible log.
        self.log_start_offset = Some(log_start_offset.min(fetch_offset));
        self.broker_epoch = Some(broker_epoch);
        self.last_fetch_leader_log_end_offset =
            Some(self.last_fetch_leader_log_end_offset.map_or(leader_log_end_offset, |p| p.max(leader_log_end_offset)));
        self.last_fetch_time_ms = Some(now_ms);
        self.check_invariants();
    }

    /// Kafka's `isCaughtUp`: the follower has the leader's whole log, or it had the leader's
    /// log as of some time no more than `replica_lag_time_max_ms` ago.
    pub fn is_caught_up(&self, now_ms: i64, leader_log_end_offset: i64, replica_lag_time_max_ms: i64) -> bool {
        self.log_end_offset == Some(leader_log_end_offset)
            || self.last_caught_up_time_ms.is_some_and(|t| now_ms - t <= replica_lag_time_max_ms)
    }

    pub(crate) fn invariant_violation(&self) -> Option<String> {
        if self.last_fetch_leader_log_end_offset.is_some() != self.last_fetch_time_ms.is_some() {
            return Some(format!("replica {}: last fetch offset and time half known", self.replica_id));
        }
        if let (Some(caught_up), Some(fetched)) = (self.last_caught_up_time_ms, self.last_fetch_time_ms) {
            if caught_up > fetched {
                return Some(format!(
                    "replica {}: caught up at {caught_up} after its last fetch at {fetched}",
                    self.replica_id
                ));
            }
        }
        if let (Some(start), Some(end)) = (self.log_start_offset, self.log_end_offset) {
            if start > end {
                return Some(format!("replica {}: log start {start} > log end {end}", self.replica_id));
            }
        }
        None
    }

    fn check_invariants(&self) {
        if let Some(violation) = self.invariant_violation() {
            panic!("FollowerProgress invariant: {violation}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG_MS: i64 = 30_000;

    #[test]
    fn isr_follower_starts_caught_up_now_and_others_never() {
        let in_isr = FollowerProgress::new_in_epoch(2, 1_000, true);
        assert_eq!(in_isr.last_caught_up_time_ms(), Some(1_000));
        assert!(in_isr.is_caught_up(1_000 + LAG_MS, 50, LAG_MS));
        assert!(!in_isr.is_caught_up(1_001 + LAG_MS, 50, LAG_MS));
        let outside = FollowerProgress::new_in_epoch(3, 0, false);
        assert_eq!(outside.last_caught_up_time_ms(), None);
        assert_eq!(outside.log_end_offset(), None);
        // At time 0 on a simulated clock, Kafka's 0 would read as caught up; None does not.
        assert!(!outside.is_caught_up(0, 50, LAG_MS));
    }

    #[test]
    fn last_caught_up_is_now_when_the_fetch_reaches_the_leader_end() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, false);
        p.record_fetch(100, 50, 0, 7, 50);
        assert_eq!(p.last_caught_up_time_ms(), Some(100));
        assert!(p.is_caught_up(100 + LAG_MS + 1, 50, LAG_MS), "an equal log end is caught up whatever the time");
        assert!(!p.is_caught_up(100 + LAG_MS + 1, 51, LAG_MS));
    }

    #[test]
    fn last_caught_up_is_the_previous_fetch_time_when_the_fetch_reaches_the_previous_leader_end() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, false);
        p.record_fetch(100, 10, 0, 7, 50); // leader had 50 at t=100
        assert_eq!(p.last_caught_up_time_ms(), None);
        p.record_fetch(200, 50, 0, 7, 80); // reaches 50: caught up as of t=100
        assert_eq!(p.last_caught_up_time_ms(), Some(100));
        p.record_fetch(300, 70, 0, 7, 90); // below 80: no news
        assert_eq!(p.last_caught_up_time_ms(), Some(100));
        assert_eq!(p.last_fetch_leader_log_end_offset(), Some(90));
        p.record_fetch(400, 90, 0, 7, 95); // reaches 90: caught up as of t=300
        assert_eq!(p.last_caught_up_time_ms(), Some(300));
    }

    #[test]
    fn last_caught_up_never_moves_back() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, false);
        p.record_fetch(100, 50, 0, 7, 50);
        p.record_fetch(150, 40, 0, 7, 50); // reaches the previous leader end (50)? no: 40 < 50
        assert_eq!(p.last_caught_up_time_ms(), Some(100));
    }

    #[test]
    fn broker_epoch_staleness_follows_kip_903() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, true);
        assert!(!p.is_stale_broker_epoch(5), "nothing cached yet");
        p.record_fetch(1, 0, 0, 9, 0);
        assert!(p.is_stale_broker_epoch(5));
        assert!(!p.is_stale_broker_epoch(9));
        assert!(!p.is_stale_broker_epoch(12));
        assert!(!p.is_stale_broker_epoch(-1), "-1 (no epoch sent) is never stale");
    }

    #[test]
    #[should_panic(expected = "a stale broker epoch is refused before recording")]
    fn recording_a_stale_broker_epoch_is_a_caller_bug() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, true);
        p.record_fetch(1, 0, 0, 9, 0);
        p.record_fetch(2, 0, 0, 8, 0);
    }

    #[test]
    fn invariant_checks_fire() {
        let mut p = FollowerProgress::new_in_epoch(2, 0, true);
        p.record_fetch(10, 5, 0, 1, 5);
        assert_eq!(p.invariant_violation(), None);
        let mut half = p.clone();
        half.last_fetch_time_ms = None;
        assert!(half.invariant_violation().unwrap().contains("half known"));
        let mut future = p.clone();
        future.last_caught_up_time_ms = Some(11);
        assert!(future.invariant_violation().unwrap().contains("after its last fetch"));
        let mut start = p.clone();
        start.log_start_offset = Some(6);
        assert!(start.invariant_violation().unwrap().contains("log start"));
    }
}
