//! `room/*` and `chat/*`: rooms, who is in them, and what is said, over
//! [`Rooms`] (the chat store and its wake-up bus). The persona responder
//! listens on the same bus, so a message sent here is answered by the
//! personas it addresses.

mod answer;
mod history;
mod room;
mod send;

use continuum_kernel::command::{erase, CommandError, Ctx, ErasedCommand, Module};
use continuum_kernel::gate::Caller;
use continuum_persona::{Rooms, Roster};
use continuum_store::{Author, AuthorKind, Room};
use std::sync::Arc;

/// Contributes `room/*` and `chat/*`.
pub struct ChatModule {
    roster: Arc<Roster>,
    rooms: Arc<Rooms>,
}

impl ChatModule {
    /// A module over the rooms; `roster` names persona members and authors.
    pub fn new(roster: Arc<Roster>, rooms: Arc<Rooms>) -> Self {
        ChatModule { roster, rooms }
    }
}

impl Module for ChatModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        let rooms = || Arc::clone(&self.rooms);
        let roster = || Arc::clone(&self.roster);
        vec![
            erase(room::RoomCreate(rooms(), roster())),
            erase(room::RoomList(rooms(), roster())),
            erase(room::RoomJoin(rooms(), roster())),
            erase(room::RoomLeave(rooms(), roster())),
            erase(send::ChatSend(rooms(), roster())),
            erase(history::ChatHistory(rooms())),
            erase(answer::ChatAnswer(rooms())),
            erase(answer::ChatAnswers(rooms(), roster())),
        ]
    }
}

/// The room named (or with id) `room`, or `not_found` naming it.
async fn find_room(rooms: &Rooms, room: &str) -> Result<Room, CommandError> {
    rooms
        .store()
        .room(room)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| {
            CommandError::NotFound(format!(
                "no room named '{room}' (room/list shows the rooms; room/create makes one)"
            ))
        })
}

/// Who the caller is, as a message author.
fn author_of(ctx: &Ctx, roster: &Roster) -> Author {
    let (kind, id, name) = match ctx.caller() {
        Caller::LocalOwner { .. } => (AuthorKind::Owner, "owner".to_owned(), "owner".to_owned()),
        Caller::Persona { persona_id, .. } => {
            let name = roster
                .live(persona_id)
                .map_or_else(|| persona_id.clone(), |live| live.name().to_owned());
            (AuthorKind::Persona, persona_id.clone(), name)
        }
        // A peer names itself; its name says it is a peer, so it can never
        // pass for the owner or a persona in a room or a prompt.
        Caller::Peer { 0: peer, .. } => (
            AuthorKind::Peer,
            peer.peer_id().to_owned(),
            format!("peer:{}", peer.peer_id()),
        ),
        other => (AuthorKind::Client, other.label(), other.label()),
    };
    Author { kind, id, name }
}
