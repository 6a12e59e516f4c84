//! What the core asks of its shell, and the shell's confirmations: the [`Ready`] it gathers
//! (messages sorted by what they wait for, log writes, the high watermark and committed
//! entries), `take_ready`, and `on_persisted`, which moves the flushed log end (and with it a
//! leader's high watermark).
//!
//! The sorting rule lives in `push_message`: a Fetch request is a voter's acknowledgement of
//! its log end, so it waits for every pending write; anything else waits only while a
//! quorum-state write is pending, because it speaks for an epoch, a vote or a role not yet
//! durable.

use super::core::{InFlight, RaftCore, RequestKind};
use super::messages::{Entry, EntryKind, Message, NodeId, Offset, Outbound, Request, Response};
use super::quorum_state::Role;
use super::ready::Ready;
use bytes::Bytes;

/// A taken Ready whose writes the shell has not yet confirmed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unpersisted {
    pub id: u64,
    pub has_quorum_state: bool,
    /// The log end offset once this Ready's writes are done (lowered by later truncations).
    pub log_end_offset: Offset,
}

impl RaftCore {
    /// The shell made Ready `id`'s writes (and every earlier Ready's) durable. Needed for a
    /// Ready that [`must_persist`](Ready::must_persist) or holds `messages_after_persist`;
    /// harmless for any other.
    pub fn on_persisted(&mut self, now_ms: u64, id: u64) {
        let mut confirmed = None;
        while self.unpersisted.front().is_some_and(|p| p.id <= id) {
            confirmed = self.unpersisted.pop_front();
        }
        if let Some(p) = confirmed {
            let flushed = p.log_end_offset.min(self.log.end_offset());
            if flushed > self.flushed_end_offset {
                self.flushed_end_offset = flushed;
                if self.quorum.current().role() == Role::Leader {
                    self.maybe_advance_leader_high_watermark(now_ms);
                }
            }
        }
        self.check_invariants();
    }

    /// The outputs gathered since the last call. See [`Ready`] for what the shell must do.
    pub fn take_ready(&mut self) -> Ready {
        let mut ready = std::mem::take(&mut self.ready);
        ready.id = self.next_ready_id;
        self.next_ready_id += 1;
        self.shell_log_end = self.log.end_offset();
        if ready.must_persist() || !ready.messages_after_persist.is_empty() {
            self.unpersisted.push_back(Unpersisted {
                id: ready.id,
                has_quorum_state: ready.quorum_state.is_some(),
                log_end_offset: self.log.end_offset(),
            });
        }
        ready
    }

    /// Whether [`take_ready`](Self::take_ready) has anything to give.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Queues a request to `to` and remembers it as that node's one request in flight.
    pub(super) fn send_request(&mut self, now_ms: u64, to: NodeId, body: Request) {
        assert_ne!(to, self.local_id(), "no request to self");
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let correlation_id = self.next_correlation_id;
        let kind = match &body {
            Request::Vote(_) => RequestKind::Vote,
            Request::BeginQuorumEpoch(_) => RequestKind::BeginQuorumEpoch,
            Request::EndQuorumEpoch(_) => RequestKind::EndQuorumEpoch,
            Request::Fetch(_) => RequestKind::Fetch,
            Request::FetchSnapshot(_) => RequestKind::FetchSnapshot,
        };
        let mut timeout = self.config.request_timeout_ms;
        if kind == RequestKind::Fetch {
            timeout += self.config.fetch_max_wait_ms;
        }
        self.inflight.insert(to, InFlight { correlation_id, deadline_ms: now_ms + timeout, kind });
        let is_fetch = kind == RequestKind::Fetch;
        self.push_message(to, Message::Request { correlation_id, body }, is_fetch);
    }

    pub(super) fn send_response(&mut self, to: NodeId, correlation_id: i32, body: Response) {
        self.push_message(to, Message::Response { correlation_id, body }, false);
    }

    /// Sorts a message into the Ready's two lists. A fetch is a voter's acknowledgement of its
    /// log end, so it waits for every pending write; anything else waits only while a
    /// quorum-state write is pending (it speaks for an epoch, a vote or a role not yet durable).
    fn push_message(&mut self, to: NodeId, message: Message, is_fetch: bool) {
        let wait = if is_fetch { self.persistence_pending() } else { self.quorum_state_pending() };
        let out = Outbound { to, message };
        if wait {
            self.ready.messages_after_persist.push(out);
        } else {
            self.ready.messages.push(out);
        }
    }

    fn quorum_state_pending(&self) -> bool {
        self.ready.quorum_state.is_some() || self.unpersisted.iter().any(|p| p.has_quorum_state)
    }

    fn persistence_pending(&self) -> bool {
        self.ready.must_persist()
            || self.unpersisted.iter().any(|p| p.has_quorum_state)
            || self.flushed_end_offset < self.log.end_offset()
    }

    /// Appends at the log end in the current epoch (leader only) and tells the shell.
    pub(super) fn append_as_leader(&mut self, kind: EntryKind, payload: Bytes) {
        let entry = Entry { offset: self.log.end_offset(), epoch: self.epoch(), kind, payload };
        self.append_entry(entry);
    }

    /// Appends an entry (leader's or replicated) and tells the shell.
    pub(super) fn append_entry(&mut self, entry: Entry) {
        assert!(entry.epoch <= self.epoch(), "no entry from a future epoch");
        self.log.append(entry.clone());
        self.ready.append.push(entry);
    }

    /// Truncates the log to `offset` and tells the shell. Below the high watermark this
    /// would drop committed entries: a fatal invariant failure.
    pub(super) fn truncate_log(&mut self, offset: Offset) {
        assert!(
            offset >= self.high_watermark,
            "fatal: node {} would truncate to {offset}, below its high watermark {}",
            self.local_id(),
            self.high_watermark
        );
        if offset >= self.log.end_offset() {
            return;
        }
        crate::events::Event::emit(&crate::events::RaftTruncated { offset, high_watermark: self.high_watermark });
        self.log.truncate_to(offset);
        self.ready.append.retain(|e| e.offset < offset);
        if offset < self.shell_log_end {
            self.ready.truncate_to = Some(self.ready.truncate_to.map_or(offset, |t| t.min(offset)));
            self.shell_log_end = offset;
        }
        self.flushed_end_offset = self.flushed_end_offset.min(offset);
        for p in self.unpersisted.iter_mut() {
            p.log_end_offset = p.log_end_offset.min(offset);
        }
    }

    /// The log was replaced by an empty one starting at `start` (a snapshot was installed):
    /// the shell's log ends there once the Ready is written, and everything below is committed
    /// (the state machine loads the snapshot, so no entries are handed out for it).
    pub(super) fn on_log_replaced(&mut self, start: Offset) {
        self.shell_log_end = start;
        self.flushed_end_offset = self.flushed_end_offset.min(start);
        for p in self.unpersisted.iter_mut() {
            p.log_end_offset = p.log_end_offset.min(start);
        }
        if start > self.high_watermark {
            self.high_watermark = start;
            self.ready.high_watermark = Some(start);
        }
    }

    /// Raises the high watermark (never lowers it) and hands the newly committed entries out.
    pub(super) fn advance_high_watermark(&mut self, new_high_watermark: Offset) {
        if new_high_watermark <= self.high_watermark {
            return;
        }
        assert!(new_high_watermark <= self.log.end_offset(), "the high watermark stays within the log");
        let newly = self.log.slice(self.high_watermark, new_high_watermark).to_vec();
        self.ready.committed.extend(newly);
        self.high_watermark = new_high_watermark;
        self.ready.high_watermark = Some(new_high_watermark);
        // `RaftHighWatermark` (with the voters' end offsets) is the shell's to emit.
        tracing::debug!(name: "raft_hw_moved", node = self.local_id(), epoch = self.epoch(), high_watermark = new_high_watermark);
    }
}
