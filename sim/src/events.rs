//! Events only the simulator emits (its faults and its own workloads), declared with
//! seedlog's [`events!`](seedlog::events!) macro so that emitters and checkers share one
//! type per event (see `seedlog::events`).

seedlog::events! {
    /// The supervisor crashed a node: its tasks stopped and its disk crashed.
    NodeKilled = "node_killed", INFO { node: String }

    /// The supervisor started a killed node again.
    NodeRestarted = "node_restarted", INFO { node: String }

    /// The supervisor swapped a killed node's disk for a new, empty one.
    DiskReplaced = "disk_replaced", INFO { node: String }

    /// The supervisor held fault point `point` on `node` (seedlog's `runtime::FaultPoint`,
    /// by name): work reaching it there waits, reported by the node as `fault_point_held`.
    FaultPointArmed = "fault_point_armed", INFO { node: String, point: String }

    /// The supervisor let the `waiting` tasks held at fault point `point` on `node` go; with
    /// `still_held` the point keeps holding later work, else it is released.
    FaultPointReleased = "fault_point_released", INFO { node: String, point: String, waiting: u64, still_held: bool }

    /// The supervisor turned buggify `on` (or off) for the nodes it adds next, with these
    /// points enabled (`BuggifyPoint` names joined by `,`).
    BuggifyEnabled = "buggify_enabled", INFO { on: bool, points: String }

    /// The supervisor's triggered fault: it waited for event `waited_for` on `node` (found:
    /// `found`) and then injected `fault` (`kill`, `cut`, `restart`; `none` if it could not).
    TriggeredFault = "triggered_fault", INFO { fault: String, node: String, waited_for: String, found: bool }

    /// The supervisor moved a node's wall clock by `delta_ms` (NTP stepping it, a VM
    /// resuming); monotonic time is unaffected.
    ClockJumped = "clock_jumped", INFO { node: String, delta_ms: i64 }

    /// The supervisor changed a node's disk faults: it fails fsyncs at
    /// `sync_errors_per_million` per fsync, flips a bit in `bit_flips_per_million` reads, and
    /// holds at most `capacity_bytes` (-1: no limit). Back to the scenario's usual values: healed.
    DiskFaultsChanged = "disk_faults_changed", INFO {
        node: String,
        sync_errors_per_million: u64,
        bit_flips_per_million: u64,
        capacity_bytes: i64,
    }

    /// The supervisor set a node's wall clock `skew_ms` off the true time.
    ClockSkewed = "clock_skewed", INFO { node: String, skew_ms: i64 }

    /// The supervisor ran step `index` of the seed's fault schedule (due at `at_ms` of the
    /// run): `fault`, described as in a scenario file, on `nodes` (its targets resolved,
    /// comma-separated). `skipped`: nothing to do (a vacant role, a node already down).
    FaultStep = "fault_step", INFO { index: u64, at_ms: u64, fault: String, nodes: String, skipped: bool }

    /// A node's process stopped on its own (a broker that halted after a disk error); it is
    /// down until the supervisor restarts it (`NodeRestarted`).
    NodeHalted = "node_halted", WARN { node: String, why: String }

    /// The inspector (a client polling Metadata) saw a partition's state change: its leader
    /// (-1: none), leader epoch, replicas and ISR (broker ids joined by `,`).
    PartitionObserved = "partition_observed", INFO {
        topic: String,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        replicas: String,
        isr: String,
    }

    /// storage-crash-recovery's workload is about to append a batch (reported before the
    /// append, since a crash may make it durable before the append returns). `digest`
    /// covers every byte of the stored batch except `partitionLeaderEpoch`.
    BatchAppending = "batch_appending", INFO { base_offset: i64, last_offset: i64, digest: u64 }

    /// storage-crash-recovery's read-back read a batch.
    BatchRead = "batch_read", INFO { base_offset: i64, last_offset: i64, digest: u64 }

    /// storage-crash-recovery's read-back reached the log end.
    ReadBackDone = "read_back_done", INFO { log_end_offset: i64 }

    /// Nodes in different groups cannot reach each other. `groups` lists each group's nodes
    /// joined by `,`, groups joined by `|` (`"b1,b2|b3"`); `""` when the partition was lifted.
    NetworkPartitioned = "network_partitioned", INFO { groups: String }

    /// Packets from `from` to `to` stop; the other direction still flows.
    LinkCut = "link_cut", INFO { from: String, to: String }

    /// The link from `from` to `to` lags: it holds traffic for `delay_ms`, then lets it flow
    /// for `flow_ms`, over and over (see `network.rs` for why a lag is modelled so).
    LinkLagged = "link_lagged", INFO { from: String, to: String, delay_ms: u64, flow_ms: u64 }

    /// A node froze: its tasks and timers stop until it resumes.
    NodePaused = "node_paused", INFO { node: String }

    /// A paused node runs again.
    NodeResumed = "node_resumed", INFO { node: String }

    /// The supervisor slowed or cut the links between broker `broker` and `leader_id`, the
    /// leader of the partition: the broker is expected to leave the partition's ISR and,
    /// once the links heal, to rejoin it (`IsrShrankAndRejoined`).
    FollowerLagged = "follower_lagged", INFO { topic: String, partition: i32, broker: i32, leader_id: i32 }

    /// Every network fault was lifted: how many partition groups, cuts, lags and paused
    /// nodes there were.
    NetworkHealed = "network_healed", INFO { partition_groups: u64, cuts: u64, lags: u64, resumed: u64 }
}
