//! Events of the cluster's shells (`src/cluster/`): brokers registering with the active
//! controller. The node that emits an event is the simulated broker of the trace.

crate::events! {
    /// This broker incarnation is registered with `broker_epoch` (a new incarnation gets a new,
    /// higher epoch; the same incarnation registering again keeps its epoch).
    BrokerRegistered = "broker_registered", INFO { broker_id: i32, broker_epoch: i64 }
}
