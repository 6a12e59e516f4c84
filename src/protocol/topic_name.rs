//! Kafka's collision rule for topic names (its `Topic.hasCollision`): metric names replace
//! `.` with `_`, so two topics whose names differ only there would share their metrics, and
//! the second one is refused with INVALID_TOPIC_EXCEPTION. The broker checks it before it
//! forwards a creation, and the controller, which orders creations, checks it again.

/// The name among `existing` that `name` collides with, if any (an identical name is not a
/// collision: that is TOPIC_ALREADY_EXISTS).
pub fn colliding_topic<'a>(name: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if !name.contains(['.', '_']) {
        return None;
    }
    let normal = name.replace('.', "_");
    existing.into_iter().find(|other| *other != name && other.replace('.', "_") == normal)
}

/// Kafka's message for a collision.
pub fn collision_message(name: &str, existing: &str) -> String {
    format!("Topic '{name}' collides with existing topic: {existing}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_underscores_collide_and_nothing_else_does() {
        let existing = ["a.b", "c_d", "plain"];
        assert_eq!(colliding_topic("a_b", existing), Some("a.b"));
        assert_eq!(colliding_topic("c.d", existing), Some("c_d"));
        assert_eq!(colliding_topic("a.b", existing), None, "the same name exists: not a collision");
        assert_eq!(colliding_topic("plain", existing), None);
        assert_eq!(colliding_topic("a-b", existing), None);
        assert_eq!(colliding_topic("a_b_", existing), None);
    }
}
