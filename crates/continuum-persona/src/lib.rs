//! `continuum-persona`: the personas this node hosts.
//!
//! - [`home`]: where a persona lives (one path function for the writer and
//!   the resumer);
//! - [`seed`]: `seed.json`, ensured on every boot, birth time preserved;
//! - [`roster`]: create, resume, update, retire; a key is made once, never
//!   re-made;
//! - [`memories`]: each persona's memories, in its own home;
//! - [`rooms`]: the chat store plus the bus that wakes waiters;
//! - [`answer`]: the responder (who answers, hop budget, rate, context,
//!   inference, tools as the persona, reasoning kept out of the room).
//!
//! Boundary invariants: the responder acts only through a
//! [`continuum_kernel::PersonaMint`], so every tool call is a persona's call
//! through the whole gate; a persona's secret key never leaves
//! [`roster::LivePersona`] (it signs, it is not shown); a persona's trust is
//! never Owner.

pub mod answer;
pub mod home;
pub mod memories;
pub mod rooms;
pub mod roster;
pub mod seed;

pub use answer::{AnswerSettings, Responder};
pub use home::PersonaHome;
pub use memories::HomeMemories;
pub use rooms::Rooms;
pub use roster::{
    LivePersona, NewPersona, PersonaError, PersonaPatch, PersonaStatus, PersonaView, ResumeReport,
    Roster,
};
