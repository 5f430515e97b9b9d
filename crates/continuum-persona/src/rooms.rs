//! Rooms as the daemon runs them: the chat store plus a bus that wakes
//! whoever waits for new messages (long-polls, follows, the responder).
//! The store is the truth; the bus only says "look again", so a waiter that
//! falls behind loses nothing: it re-reads from its cursor.

use continuum_store::{ChatMessage, ChatStore, NewMessage, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many posted messages the bus buffers for slow listeners.
const BUS_CAPACITY: usize = 1024;

/// The chat store and its wake-up bus.
pub struct Rooms {
    store: Arc<dyn ChatStore>,
    bus: broadcast::Sender<Arc<ChatMessage>>,
    /// (room, persona) -> the last message id when the persona joined (this
    /// run): it answers only what was said after.
    joined: Mutex<HashMap<(String, String), u64>>,
}

impl Rooms {
    /// Rooms over `store`.
    pub fn new(store: Arc<dyn ChatStore>) -> Rooms {
        Rooms {
            store,
            bus: broadcast::channel(BUS_CAPACITY).0,
            joined: Mutex::new(HashMap::new()),
        }
    }

    /// Adds `persona_id` to a room; it will answer only messages posted from
    /// now on (the backlog, and messages the responder has not reached yet,
    /// were not said to it). Returns whether membership changed.
    pub async fn join(&self, room_id: &str, persona_id: &str) -> Result<bool, StoreError> {
        let changed = self.store.join(room_id, persona_id).await?;
        let last = self.last_id(room_id).await?;
        self.joined
            .lock()
            .map_err(|_| StoreError::Backend("rooms lock poisoned".into()))?
            .insert((room_id.to_owned(), persona_id.to_owned()), last);
        Ok(changed)
    }

    /// Whether `persona_id` was in the room when `message` was posted (as far
    /// as this run knows: members from before a restart count from the start).
    pub fn heard(&self, persona_id: &str, message: &ChatMessage) -> bool {
        let joined = self.joined.lock().map_or(0, |joined| {
            joined
                .get(&(message.room_id.clone(), persona_id.to_owned()))
                .copied()
                .unwrap_or(0)
        });
        message.id > joined
    }

    /// The store, for reads and room management.
    pub fn store(&self) -> &Arc<dyn ChatStore> {
        &self.store
    }

    /// Appends a message and wakes everyone listening.
    pub async fn post(&self, message: NewMessage) -> Result<ChatMessage, StoreError> {
        let stored = self.store.append(message).await?;
        self.announce(&stored);
        Ok(stored)
    }

    /// Wakes everyone listening for a message already stored (for a poster
    /// that must note something about it before anyone reacts).
    pub fn announce(&self, message: &ChatMessage) {
        // No listener is fine: nobody is waiting.
        let _ = self.bus.send(Arc::new(message.clone()));
    }

    /// Every message posted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChatMessage>> {
        self.bus.subscribe()
    }

    /// The id of the newest message in a room (0 when it has none).
    pub async fn last_id(&self, room_id: &str) -> Result<u64, StoreError> {
        Ok(self
            .store
            .history(room_id, None, 1)
            .await?
            .last()
            .map_or(0, |message| message.id))
    }

    /// Messages of `room_id` after `after`; when there are none yet, waits up
    /// to `wait` for the next ones.
    pub async fn wait_after(
        &self,
        room_id: &str,
        after: u64,
        limit: usize,
        wait: Duration,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        // Subscribe before reading, so a message posted in between wakes us.
        let mut bus = self.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let messages = self.store.history(room_id, Some(after), limit).await?;
            if !messages.is_empty() {
                return Ok(messages);
            }
            if !next_in_room(&mut bus, room_id, deadline).await {
                return Ok(Vec::new());
            }
        }
    }
}

/// Waits until a message for `room_id` is posted (or the bus lagged, which
/// may hide one), or `deadline` passes. False at the deadline.
pub async fn next_in_room(
    bus: &mut broadcast::Receiver<Arc<ChatMessage>>,
    room_id: &str,
    deadline: tokio::time::Instant,
) -> bool {
    loop {
        match tokio::time::timeout_at(deadline, bus.recv()).await {
            Err(_) => return false,
            Ok(Ok(message)) if message.room_id != room_id => continue,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => return true,
            // The bus is gone only when the daemon is: nothing more will come.
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                tokio::time::sleep_until(deadline).await;
                return false;
            }
        }
    }
}
