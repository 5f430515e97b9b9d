//! The storage boundary. Repo traits (one per concern) live beside their
//! consumers; this module holds the embedded SQLite plumbing they share.

pub mod sqlite;
