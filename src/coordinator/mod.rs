//! Coordinators of the internal topics. `group`: the classic consumer-group protocol's core
//! (GROUPS-AND-TRANSACTIONS.md §2). No IO: the broker shell (not built yet) feeds it requests,
//! append results and timer firings, and carries out what it returns. See docs/groups.md.

pub mod group;
