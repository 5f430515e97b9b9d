//! `room/create`, `room/list`, `room/join`, `room/leave`. Creating rooms
//! and choosing who is in them needs a Trusted caller; listing is AI-safe.

use super::find_room;
use crate::persona::persona_error;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use continuum_persona::{Rooms, Roster};
use continuum_store::{Room, DEFAULT_HOP_BUDGET};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most persona messages a room may allow per chain.
const MAX_HOP_BUDGET: u32 = 32;

/// A room as commands show it: members by id and name.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Persona messages allowed per chain started by a person's message.
    pub hop_budget: u32,
    /// Persona members, in join order.
    pub members: Vec<MemberView>,
    /// Creation time, Unix ms.
    pub created_at_ms: u64,
}

/// One member.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct MemberView {
    /// Persona id.
    pub id: String,
    /// Persona name (its id when it is no longer active).
    pub name: String,
}

fn view(room: Room, roster: &Roster) -> RoomView {
    RoomView {
        members: room
            .members
            .iter()
            .map(|id| MemberView {
                name: roster
                    .live(id)
                    .map_or_else(|| id.clone(), |p| p.name().to_owned()),
                id: id.clone(),
            })
            .collect(),
        id: room.id,
        name: room.name,
        hop_budget: room.hop_budget,
        created_at_ms: room.created_at_ms,
    }
}

/// Creates a room.
pub(super) struct RoomCreate(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

/// Params of `room/create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct CreateParams {
    /// Unique name: 1-64 letters, digits, `_`, `.` or `-`.
    pub name: String,
    /// Persona messages allowed per chain started by a person's message (default 3).
    #[serde(default)]
    #[schemars(range(max = 32))]
    pub hop_budget: Option<u32>,
}

impl Command for RoomCreate {
    const NAME: &'static str = "room/create";
    const DESCRIPTION: &'static str =
        "Create a chat room (optionally with its persona hop budget).";
    const ACCESS: Access = Access::Trusted;
    type Params = CreateParams;
    type Output = RoomView;

    async fn run(&self, _: Ctx, p: CreateParams) -> Result<RoomView, CommandError> {
        let budget = p.hop_budget.unwrap_or(DEFAULT_HOP_BUDGET);
        if budget > MAX_HOP_BUDGET {
            return Err(CommandError::invalid_params(
                "/hopBudget",
                format!("at most {MAX_HOP_BUDGET}"),
            ));
        }
        let room = self
            .0
            .store()
            .create_room(&p.name, budget)
            .await
            .map_err(store_error)?;
        Ok(view(room, &self.1))
    }
}

/// Lists rooms.
pub(super) struct RoomList(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

/// Result of `room/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// Every room, by name.
    pub rooms: Vec<RoomView>,
}

impl Command for RoomList {
    const NAME: &'static str = "room/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "List chat rooms with their persona members.";
    const ACCESS: Access = Access::AiSafe;
    type Params = NoParams;
    type Output = ListResult;

    async fn run(&self, _: Ctx, _: NoParams) -> Result<ListResult, CommandError> {
        let rooms = self.0.store().rooms().await.map_err(store_error)?;
        Ok(ListResult {
            rooms: rooms.into_iter().map(|room| view(room, &self.1)).collect(),
        })
    }
}

/// Params of `room/join` and `room/leave`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MemberParams {
    /// The room, by name or id.
    pub room: String,
    /// The persona, by name or id.
    pub persona: String,
}

/// Result of `room/join` and `room/leave`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct MemberResult {
    /// Whether membership changed.
    pub changed: bool,
    /// The room now.
    pub room: RoomView,
}

/// Adds a persona to a room.
pub(super) struct RoomJoin(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

impl Command for RoomJoin {
    const NAME: &'static str = "room/join";
    const DESCRIPTION: &'static str =
        "Add a persona to a room; it answers what is addressed to it there.";
    const ACCESS: Access = Access::Trusted;
    type Params = MemberParams;
    type Output = MemberResult;

    async fn run(&self, _: Ctx, p: MemberParams) -> Result<MemberResult, CommandError> {
        membership(&self.0, &self.1, p, true).await
    }
}

/// Removes a persona from a room.
pub(super) struct RoomLeave(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

impl Command for RoomLeave {
    const NAME: &'static str = "room/leave";
    const DESCRIPTION: &'static str = "Remove a persona from a room.";
    const ACCESS: Access = Access::Trusted;
    type Params = MemberParams;
    type Output = MemberResult;

    async fn run(&self, _: Ctx, p: MemberParams) -> Result<MemberResult, CommandError> {
        membership(&self.0, &self.1, p, false).await
    }
}

async fn membership(
    rooms: &Rooms,
    roster: &Roster,
    p: MemberParams,
    join: bool,
) -> Result<MemberResult, CommandError> {
    let room = find_room(rooms, &p.room).await?;
    let persona_id = match roster.resolve(&p.persona) {
        Ok(persona) => persona.id().to_owned(),
        // A retired or broken persona can still be removed by id.
        Err(_) if !join && room.members.contains(&p.persona) => p.persona.clone(),
        Err(err) => return Err(persona_error(err)),
    };
    let store = rooms.store();
    let changed = if join {
        rooms.join(&room.id, &persona_id).await
    } else {
        store.leave(&room.id, &persona_id).await
    }
    .map_err(store_error)?;
    let room = find_room(rooms, &room.id).await?;
    Ok(MemberResult {
        changed,
        room: view(room, roster),
    })
}
