//! Events of the seam (`src/runtime/`): the simulator's fault points firing on a node.

crate::events! {
    /// Buggify point `point` (`runtime::BuggifyPoint`, by name) fired on this node: the code
    /// there takes its rare path now. Only the simulation build can fire a point.
    BuggifyFired = "buggify_fired", INFO { point: String }
}
