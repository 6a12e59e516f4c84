//! Property test of the group coordinator core (filled in next).
