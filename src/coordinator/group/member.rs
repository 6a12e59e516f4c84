//! One member of a classic group (Kafka's `ClassicGroupMember`).

use super::outputs::RequestId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    pub name: String,
    pub metadata: Vec<u8>,
}

/// A JoinGroup parked until the join phase completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ParkedJoin {
    pub(super) request_id: RequestId,
    pub(super) api_version: i16,
}

/// Invariants (checked by `ClassicGroup::check_invariants`):
/// - `protocols` is non-empty and `protocol_type` is non-empty;
/// - `awaiting_join` only while the group is PreparingRebalance, `awaiting_sync` only while it
///   is CompletingRebalance.
#[derive(Debug, Clone)]
pub struct ClassicMember {
    pub(super) member_id: String,
    pub(super) group_instance_id: Option<String>,
    pub(super) client_id: String,
    pub(super) client_host: String,
    pub(super) session_timeout_ms: i32,
    pub(super) rebalance_timeout_ms: i32,
    pub(super) protocol_type: String,
    /// In the member's order of preference.
    pub(super) protocols: Vec<Protocol>,
    pub(super) assignment: Vec<u8>,
    pub(super) awaiting_join: Option<ParkedJoin>,
    pub(super) awaiting_sync: Option<RequestId>,
    /// Added during the current join phase: it lives under the new-member join timeout.
    pub(super) is_new: bool,
}

impl ClassicMember {
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn group_instance_id(&self) -> Option<&str> {
        self.group_instance_id.as_deref()
    }

    pub fn assignment(&self) -> &[u8] {
        &self.assignment
    }

    pub fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }

    pub(super) fn supports(&self, protocol_name: &str) -> bool {
        self.protocols.iter().any(|p| p.name == protocol_name)
    }

    pub(super) fn metadata_for(&self, protocol_name: &str) -> Vec<u8> {
        self.protocols.iter().find(|p| p.name == protocol_name).map(|p| p.metadata.clone()).unwrap_or_default()
    }

    /// Kafka's `matches`: the same protocols, names and metadata, in the same order.
    pub(super) fn same_protocols(&self, protocols: &[Protocol]) -> bool {
        self.protocols == protocols
    }
}
