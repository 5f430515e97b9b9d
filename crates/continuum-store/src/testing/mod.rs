//! Contract suites: the specification every backend of a repo trait must
//! meet, exported so a backend in another crate (S3, ...) runs exactly the
//! same checks. Each suite panics with the backend's name on the first broken
//! rule. Enabled by the `testing` feature.

pub mod audit;
pub mod chat;
pub mod credentials;
pub mod documents;
pub mod memories;
pub mod peers;
pub mod personas;
pub mod watermarks;
