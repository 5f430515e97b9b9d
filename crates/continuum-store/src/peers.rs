//! The peer registry (ADR 0015, Decision 3): the nodes this node knows, by
//! logical id and by every key they hold, with the invites that let a new
//! one pair and the command catalogs imported from them. The grid's `Peers`
//! service keeps the lookup index; this is its durable copy.
//!
//! Keys are public keys only. An invite's secret is stored because the
//! pairing proof is checked against it; it is deleted on use or expiry and
//! never shown by `Debug`.

use crate::sqlite::{from_ordered, ordered_u64, SharedConnection};
use crate::{BoxFuture, StoreError};
use continuum_wire::{Access, CommandDescriptor, Trust};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

/// Most previous keys a peer keeps (rotation keeps at most 4 in grace).
pub const MAX_PREVIOUS_KEYS: usize = 4;
/// Most addresses kept for a peer.
pub const MAX_ADDRESSES: usize = 8;
/// Longest peer name, in bytes: `peer/<name>/<remote>` must stay within
/// MCP's 64-character tool names.
pub const MAX_PEER_NAME_BYTES: usize = 32;
/// Longest `host:port` address, in bytes.
const MAX_ADDRESS_BYTES: usize = 255;

/// A key a peer held before it rotated, accepted until `valid_until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousKey {
    /// The ed25519 public key, 64 lowercase hex digits.
    pub key: String,
    /// Its rotation generation.
    pub generation: u32,
    /// End of its grace, Unix ms.
    pub valid_until_ms: u64,
}

/// One registered peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerRecord {
    /// The peer's own node id: logical, survives its key rotations
    /// (`check_peer_id` rules).
    pub id: String,
    /// Local label: 1-32 of `[a-z0-9-]`, unique. What `--peer NAME` and
    /// `peer/NAME/...` use.
    pub name: String,
    /// Its current ed25519 public key, 64 lowercase hex digits.
    pub key: String,
    /// The current key's rotation generation.
    pub generation: u32,
    /// Keys it held before, newest first, kept in the order given; at most
    /// [`MAX_PREVIOUS_KEYS`].
    #[serde(default)]
    pub previous_keys: Vec<PreviousKey>,
    /// Blocked, Provisional or Trusted; never Owner.
    pub trust: Trust,
    /// `host:port`, most recently working first; at most [`MAX_ADDRESSES`].
    #[serde(default)]
    pub addresses: Vec<String>,
    /// When it was registered, Unix ms.
    pub paired_at_ms: u64,
    /// Last contact, Unix ms.
    #[serde(default)]
    pub last_seen_ms: Option<u64>,
    /// Last change, Unix ms.
    pub updated_at_ms: u64,
}

impl PeerRecord {
    /// Every key it holds: the current one, then the previous ones.
    fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.previous_keys.iter().map(|p| p.key.as_str()))
    }
}

/// An open invite: one use, until it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct Invite {
    /// Its id, named in the invite text.
    pub id: [u8; 16],
    /// The pairing proof's HMAC key. Secret.
    pub secret: [u8; 32],
    /// What this node will call the joiner (peer name rules).
    pub name: String,
    /// The trust the joiner gets; never Owner.
    pub trust: Trust,
    /// When it stops being usable, Unix ms (live while `now < expires_at_ms`).
    pub expires_at_ms: u64,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("id", &hex::encode(self.id))
            .field("secret", &"<redacted>")
            .field("name", &self.name)
            .field("trust", &self.trust)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// A peer's command catalog as imported: the proxies rebuilt at boot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredCatalog {
    /// The access the owner chose for the proxies.
    pub access: Access,
    /// The peer's descriptors, as it listed them.
    pub descriptors: Vec<CommandDescriptor>,
    /// When it was imported, Unix ms.
    pub imported_at_ms: u64,
}

/// Registered peers, open invites and imported catalogs. Every write is
/// checked first ([`check_peer`], [`check_invite`]): a refused write
/// changes nothing.
pub trait PeerStore: Send + Sync {
    /// Registers `peer`; `Conflict` if its id or name (without case) is
    /// taken, or another peer holds one of its keys (current or previous).
    fn insert(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Replaces the record with the same id; `NotFound` if there is none,
    /// `Conflict` on another peer's name or key. Keys it no longer lists
    /// are free for others.
    fn update(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// One peer by id.
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PeerRecord>, StoreError>>;
    /// Every peer, by name.
    fn list(&self) -> BoxFuture<'_, Result<Vec<PeerRecord>, StoreError>>;
    /// Forgets a peer, its keys and its catalog; whether there was one.
    fn remove(&self, id: &str) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Records contact at `at_ms` (`last_seen_ms` never moves back) and moves
    /// `address`, the one that worked, to the front of the addresses, dropping
    /// the oldest past [`MAX_ADDRESSES`]. `NotFound` for an unknown id;
    /// `updated_at_ms` is left alone.
    fn seen(
        &self,
        id: &str,
        at_ms: u64,
        address: Option<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Stores an invite; `Conflict` if its id exists.
    fn add_invite(&self, invite: Invite) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Deletes and returns invite `id` in one atomic step, so of any number
    /// of concurrent takes exactly one gets it. An expired invite is deleted
    /// too and gives `None`, as do an unknown or used one.
    fn take_invite(
        &self,
        id: &[u8; 16],
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Option<Invite>, StoreError>>;
    /// How many invites are live at `now_ms`; expired ones are deleted.
    fn open_invites(&self, now_ms: u64) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Stores (`Some`) or drops (`None`) peer `id`'s catalog; `NotFound` if
    /// there is no such peer.
    fn set_catalog(
        &self,
        id: &str,
        catalog: Option<StoredCatalog>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Every stored catalog with its peer id, by peer id.
    fn catalogs(&self) -> BoxFuture<'_, Result<Vec<(String, StoredCatalog)>, StoreError>>;
}

/// A peer name: 1 to [`MAX_PEER_NAME_BYTES`] of `[a-z0-9-]`, a valid
/// command-name segment. Lowercase only, so names never differ by case alone.
pub fn check_peer_name(field: &str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PEER_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if name == RESERVED_PEER_NAME {
        return Err(StoreError::invalid(
            field,
            "'any' is reserved: `--peer any` means any peer that serves the command",
        ));
    }
    ok.then_some(()).ok_or_else(|| {
        StoreError::invalid(
            field,
            format!("must be 1-{MAX_PEER_NAME_BYTES} characters of a-z, 0-9 or '-'"),
        )
    })
}

/// The name `--peer` reads as "any peer that serves the command".
pub const RESERVED_PEER_NAME: &str = "any";

/// An ed25519 public key in its one stored form: 64 lowercase hex digits
/// (so equal keys are equal strings, and key uniqueness is exact).
fn check_key(field: &str, key: &str) -> Result<(), StoreError> {
    let ok = key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(()).ok_or_else(|| {
        StoreError::invalid(field, "must be 64 lowercase hex digits (an ed25519 key)")
    })
}

/// `host:port`: a non-empty host (a bracketed IPv6 literal, or no `:`) and
/// a port 1-65535, printable ASCII, at most 255 bytes.
fn check_address(field: &str, address: &str) -> Result<(), StoreError> {
    let ok = address.len() <= MAX_ADDRESS_BYTES
        && address.bytes().all(|b| b.is_ascii_graphic())
        && address.rsplit_once(':').is_some_and(|(host, port)| {
            let host_ok = match host.strip_prefix('[') {
                Some(literal) => literal.strip_suffix(']').is_some_and(|ip| !ip.is_empty()),
                None => !host.is_empty() && !host.contains(':'),
            };
            host_ok && port.parse::<u16>().is_ok_and(|port| port != 0)
        });
    ok.then_some(()).ok_or_else(|| {
        // The value is not echoed: it may hold anything, control bytes included.
        StoreError::invalid(field, "must be host:port (IPv6 in brackets), port 1-65535")
    })
}

fn check_trust(trust: Trust) -> Result<(), StoreError> {
    if trust == Trust::Owner {
        return Err(StoreError::invalid(
            "/trust",
            "a peer is never trusted as owner",
        ));
    }
    Ok(())
}

/// A peer record's rules, checked before anything is stored (by every
/// backend, in this crate or another).
pub fn check_peer(peer: &PeerRecord) -> Result<(), StoreError> {
    continuum_wire::peer::check_peer_id(&peer.id).map_err(|why| StoreError::invalid("/id", why))?;
    check_peer_name("/name", &peer.name)?;
    check_key("/key", &peer.key)?;
    check_trust(peer.trust)?;
    if peer.previous_keys.len() > MAX_PREVIOUS_KEYS {
        return Err(StoreError::invalid(
            "/previousKeys",
            format!(
                "{} previous keys; at most {MAX_PREVIOUS_KEYS} are kept",
                peer.previous_keys.len()
            ),
        ));
    }
    let mut held = HashSet::from([peer.key.as_str()]);
    for (index, previous) in peer.previous_keys.iter().enumerate() {
        let field = format!("/previousKeys/{index}/key");
        check_key(&field, &previous.key)?;
        if !held.insert(&previous.key) {
            return Err(StoreError::invalid(field, "repeats a key this peer holds"));
        }
    }
    if peer.addresses.len() > MAX_ADDRESSES {
        return Err(StoreError::invalid(
            "/addresses",
            format!(
                "{} addresses; at most {MAX_ADDRESSES} are kept",
                peer.addresses.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (index, address) in peer.addresses.iter().enumerate() {
        let field = format!("/addresses/{index}");
        check_address(&field, address)?;
        if !seen.insert(address) {
            return Err(StoreError::invalid(field, "repeats an address"));
        }
    }
    Ok(())
}

/// An invite's rules, checked before it is stored.
pub fn check_invite(invite: &Invite) -> Result<(), StoreError> {
    check_peer_name("/name", &invite.name)?;
    check_trust(invite.trust)
}

/// The rule behind [`PeerStore::seen`], for every backend.
fn sighted(
    addresses: &mut Vec<String>,
    last_seen_ms: &mut Option<u64>,
    at_ms: u64,
    address: Option<String>,
) {
    *last_seen_ms = Some(last_seen_ms.map_or(at_ms, |last| last.max(at_ms)));
    if let Some(address) = address {
        addresses.retain(|known| *known != address);
        addresses.insert(0, address);
        addresses.truncate(MAX_ADDRESSES);
    }
}

fn id_conflict(id: &str) -> StoreError {
    StoreError::Conflict(format!("peer {id}"))
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!("peer name '{name}'"))
}

fn key_conflict(key: &str) -> StoreError {
    StoreError::Conflict(format!("peer key {key}"))
}

fn invite_conflict(id: &[u8; 16]) -> StoreError {
    StoreError::Conflict(format!("invite {}", hex::encode(id)))
}

fn peer_not_found(id: &str) -> StoreError {
    StoreError::NotFound(format!("peer {id}"))
}

#[derive(Default)]
struct PeerState {
    peers: BTreeMap<String, PeerRecord>,
    invites: HashMap<[u8; 16], Invite>,
    catalogs: BTreeMap<String, StoredCatalog>,
}

impl PeerState {
    /// The name or key conflict `peer` has with another peer, if any.
    fn clash(&self, peer: &PeerRecord) -> Result<(), StoreError> {
        let others = || self.peers.values().filter(|other| other.id != peer.id);
        if others().any(|other| other.name.eq_ignore_ascii_case(&peer.name)) {
            return Err(name_conflict(&peer.name));
        }
        for key in peer.keys() {
            if others().any(|other| other.keys().any(|held| held == key)) {
                return Err(key_conflict(key));
            }
        }
        Ok(())
    }
}

/// In-memory peer registry, for tests.
#[derive(Default)]
pub struct InMemoryPeers {
    state: Mutex<PeerState>,
}

impl InMemoryPeers {
    /// An empty registry.
    pub fn new() -> Self {
        InMemoryPeers::default()
    }

    /// Runs `work` under the lock, now: the returned future is already done.
    fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut PeerState) -> Result<T, StoreError>,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let result = self
            .state
            .lock()
            .map_err(|_| StoreError::Backend("peer store lock poisoned".into()))
            .and_then(|mut state| work(&mut state));
        Box::pin(std::future::ready(result))
    }
}

impl PeerStore for InMemoryPeers {
    fn insert(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|state| {
            check_peer(&peer)?;
            if state.peers.contains_key(&peer.id) {
                return Err(id_conflict(&peer.id));
            }
            state.clash(&peer)?;
            state.peers.insert(peer.id.clone(), peer);
            Ok(())
        })
    }

    fn update(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|state| {
            check_peer(&peer)?;
            if !state.peers.contains_key(&peer.id) {
                return Err(peer_not_found(&peer.id));
            }
            state.clash(&peer)?;
            state.peers.insert(peer.id.clone(), peer);
            Ok(())
        })
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PeerRecord>, StoreError>> {
        self.with(|state| Ok(state.peers.get(id).cloned()))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<PeerRecord>, StoreError>> {
        self.with(|state| {
            let mut all: Vec<PeerRecord> = state.peers.values().cloned().collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(all)
        })
    }

    fn remove(&self, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.with(|state| {
            state.catalogs.remove(id);
            Ok(state.peers.remove(id).is_some())
        })
    }

    fn seen(
        &self,
        id: &str,
        at_ms: u64,
        address: Option<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|state| {
            if let Some(address) = &address {
                check_address("/address", address)?;
            }
            let peer = state.peers.get_mut(id).ok_or_else(|| peer_not_found(id))?;
            sighted(&mut peer.addresses, &mut peer.last_seen_ms, at_ms, address);
            Ok(())
        })
    }

    fn add_invite(&self, invite: Invite) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|state| {
            check_invite(&invite)?;
            if state.invites.contains_key(&invite.id) {
                return Err(invite_conflict(&invite.id));
            }
            state.invites.insert(invite.id, invite);
            Ok(())
        })
    }

    fn take_invite(
        &self,
        id: &[u8; 16],
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Option<Invite>, StoreError>> {
        self.with(|state| {
            let taken = state.invites.remove(id);
            state
                .invites
                .retain(|_, invite| now_ms < invite.expires_at_ms);
            Ok(taken.filter(|invite| now_ms < invite.expires_at_ms))
        })
    }

    fn open_invites(&self, now_ms: u64) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.with(|state| {
            state
                .invites
                .retain(|_, invite| now_ms < invite.expires_at_ms);
            Ok(state.invites.len())
        })
    }

    fn set_catalog(
        &self,
        id: &str,
        catalog: Option<StoredCatalog>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|state| {
            if !state.peers.contains_key(id) {
                return Err(peer_not_found(id));
            }
            match catalog {
                Some(catalog) => state.catalogs.insert(id.to_owned(), catalog),
                None => state.catalogs.remove(id),
            };
            Ok(())
        })
    }

    fn catalogs(&self) -> BoxFuture<'_, Result<Vec<(String, StoredCatalog)>, StoreError>> {
        self.with(|state| {
            Ok(state
                .catalogs
                .iter()
                .map(|(id, catalog)| (id.clone(), catalog.clone()))
                .collect())
        })
    }
}

const MIGRATIONS: &[&str] = &["
CREATE TABLE peers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    trust TEXT NOT NULL,
    addresses TEXT NOT NULL, -- JSON array of host:port
    paired_at_ms INTEGER NOT NULL,
    last_seen_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX peers_name ON peers (name COLLATE NOCASE);
-- Every key a peer holds: slot 0 is the current key (no valid_until_ms),
-- slots 1-4 the previous keys in order. The primary key gives a key to one
-- peer at most, current or previous, for every writer.
CREATE TABLE peer_keys (
    key TEXT PRIMARY KEY,
    peer_id TEXT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    valid_until_ms INTEGER,
    UNIQUE (peer_id, slot)
) WITHOUT ROWID;
-- expires_at_ms is sqlite::ordered_u64, so SQL compares it as a u64.
CREATE TABLE invites (
    id BLOB PRIMARY KEY,
    secret BLOB NOT NULL,
    name TEXT NOT NULL,
    trust TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX invites_by_expiry ON invites (expires_at_ms);
CREATE TABLE catalogs (
    peer_id TEXT PRIMARY KEY REFERENCES peers (id) ON DELETE CASCADE,
    access TEXT NOT NULL,
    descriptors TEXT NOT NULL, -- JSON array of CommandDescriptor
    imported_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
"];

/// The peer registry in SQLite (WAL, 0600): `data/peers.sqlite`. Blocking
/// work runs on tokio's blocking pool. Writes that read first take the write
/// lock up front (`BEGIN IMMEDIATE`), so two connections never both read an
/// invite or a record and then race to change it.
pub struct SqlitePeers {
    conn: SharedConnection,
}

impl SqlitePeers {
    /// Opens (creating and migrating) the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqlitePeers {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

/// A `peers` row, before its keys join it.
struct PeerRow {
    id: String,
    name: String,
    trust: Trust,
    addresses: Vec<String>,
    paired_at_ms: u64,
    last_seen_ms: Option<u64>,
    updated_at_ms: u64,
}

/// A `peer_keys` row: (slot, key, generation, valid_until_ms).
type KeyRow = (u32, String, u32, Option<u64>);

const PEER_COLUMNS: &str = "id, name, trust, addresses, paired_at_ms, last_seen_ms, updated_at_ms";

fn conversion(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, what.into())
}

fn read_trust(row: &Row<'_>, column: usize) -> rusqlite::Result<Trust> {
    let trust: String = row.get(column)?;
    Trust::parse(&trust).ok_or_else(|| conversion(column, format!("unknown trust level '{trust}'")))
}

fn read_peer_row(row: &Row<'_>) -> rusqlite::Result<PeerRow> {
    let addresses: String = row.get(3)?;
    Ok(PeerRow {
        id: row.get(0)?,
        name: row.get(1)?,
        trust: read_trust(row, 2)?,
        addresses: serde_json::from_str(&addresses)
            .map_err(|err| conversion(3, format!("addresses: {err}")))?,
        paired_at_ms: row.get::<_, i64>(4)? as u64,
        last_seen_ms: row.get::<_, Option<i64>>(5)?.map(|ms| ms as u64),
        updated_at_ms: row.get::<_, i64>(6)? as u64,
    })
}

fn read_key_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get::<_, Option<i64>>(3)?.map(|ms| ms as u64),
    ))
}

/// A record from its row and its key rows (sorted by slot).
fn assemble(row: PeerRow, keys: Vec<KeyRow>) -> Result<PeerRecord, StoreError> {
    let mut keys = keys.into_iter();
    let Some((0, key, generation, None)) = keys.next() else {
        return Err(StoreError::Backend(format!(
            "peer {} has no current key",
            row.id
        )));
    };
    let previous_keys = keys
        .map(|(_, key, generation, valid_until_ms)| {
            let valid_until_ms = valid_until_ms.ok_or_else(|| {
                StoreError::Backend(format!("peer {}: a previous key has no grace end", row.id))
            })?;
            Ok(PreviousKey {
                key,
                generation,
                valid_until_ms,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(PeerRecord {
        id: row.id,
        name: row.name,
        key,
        generation,
        previous_keys,
        trust: row.trust,
        addresses: row.addresses,
        paired_at_ms: row.paired_at_ms,
        last_seen_ms: row.last_seen_ms,
        updated_at_ms: row.updated_at_ms,
    })
}

fn read_peer(conn: &Connection, id: &str) -> Result<Option<PeerRecord>, StoreError> {
    let sql = format!("SELECT {PEER_COLUMNS} FROM peers WHERE id = ?1");
    let Some(row) = conn.query_row(&sql, [id], read_peer_row).optional()? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT slot, key, generation, valid_until_ms FROM peer_keys
         WHERE peer_id = ?1 ORDER BY slot",
    )?;
    let keys = stmt
        .query_map([id], read_key_row)?
        .collect::<rusqlite::Result<_>>()?;
    assemble(row, keys).map(Some)
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::Backend(err.to_string()))
}

/// Whether `result` failed on the constraint `code` (an extended code).
fn broke<T>(result: &rusqlite::Result<T>, code: std::ffi::c_int) -> bool {
    matches!(result, Err(rusqlite::Error::SqliteFailure(err, _)) if err.extended_code == code)
}

/// Writes `peer`'s `peers` columns with `sql` (`?1..?7` in [`PEER_COLUMNS`]
/// order). The peers' name index refusing it is a name `Conflict`.
fn write_row(conn: &Connection, sql: &str, peer: &PeerRecord) -> Result<usize, StoreError> {
    let result = conn.execute(
        sql,
        params![
            peer.id,
            peer.name,
            peer.trust.as_str(),
            json(&peer.addresses)?,
            peer.paired_at_ms as i64,
            peer.last_seen_ms.map(|ms| ms as i64),
            peer.updated_at_ms as i64,
        ],
    );
    if broke(&result, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) {
        return Err(name_conflict(&peer.name));
    }
    Ok(result?)
}

/// Inserts `peer`'s keys. A key another peer holds breaks the primary key:
/// a key `Conflict`.
fn write_keys(conn: &Connection, peer: &PeerRecord) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO peer_keys (key, peer_id, slot, generation, valid_until_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let current = (peer.key.as_str(), peer.generation, None);
    let previous = peer
        .previous_keys
        .iter()
        .map(|p| (p.key.as_str(), p.generation, Some(p.valid_until_ms as i64)));
    for (slot, (key, generation, valid_until_ms)) in
        std::iter::once(current).chain(previous).enumerate()
    {
        let result = stmt.execute(params![
            key,
            peer.id,
            slot as i64,
            generation,
            valid_until_ms
        ]);
        if broke(&result, rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) {
            return Err(key_conflict(key));
        }
        result?;
    }
    Ok(())
}

fn peer_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM peers WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Deletes the invites expired at `now_ms`.
fn purge_invites(conn: &Connection, now_ms: u64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM invites WHERE expires_at_ms <= ?1",
        [ordered_u64(now_ms)],
    )?;
    Ok(())
}

fn read_invite(id: [u8; 16], row: &Row<'_>) -> rusqlite::Result<Invite> {
    let secret: Vec<u8> = row.get(0)?;
    Ok(Invite {
        id,
        secret: secret
            .try_into()
            .map_err(|_| conversion(0, "an invite secret is not 32 bytes".into()))?,
        name: row.get(1)?,
        trust: read_trust(row, 2)?,
        expires_at_ms: from_ordered(row.get(3)?),
    })
}

fn read_access(text: &str) -> Result<Access, StoreError> {
    [Access::AiSafe, Access::Trusted, Access::OwnerOnly]
        .into_iter()
        .find(|access| access.as_str() == text)
        .ok_or_else(|| StoreError::Backend(format!("unknown catalog access '{text}'")))
}

impl PeerStore for SqlitePeers {
    fn insert(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            check_peer(&peer)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The id is checked first, so the only constraint the row can
            // break is the name index.
            if peer_exists(&tx, &peer.id)? {
                return Err(id_conflict(&peer.id));
            }
            let sql =
                format!("INSERT INTO peers ({PEER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            write_row(&tx, &sql, &peer)?;
            write_keys(&tx, &peer)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn update(&self, peer: PeerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            check_peer(&peer)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = write_row(
                &tx,
                "UPDATE peers SET name = ?2, trust = ?3, addresses = ?4, paired_at_ms = ?5,
                     last_seen_ms = ?6, updated_at_ms = ?7
                 WHERE id = ?1",
                &peer,
            )?;
            if changed == 0 {
                return Err(peer_not_found(&peer.id));
            }
            tx.execute("DELETE FROM peer_keys WHERE peer_id = ?1", [&peer.id])?;
            write_keys(&tx, &peer)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PeerRecord>, StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| read_peer(conn, &id))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<PeerRecord>, StoreError>> {
        self.conn.boxed(|conn| {
            let tx = conn.transaction()?;
            let mut keys: HashMap<String, Vec<KeyRow>> = HashMap::new();
            let mut stmt = tx.prepare_cached(
                "SELECT slot, key, generation, valid_until_ms, peer_id FROM peer_keys
                 ORDER BY peer_id, slot",
            )?;
            let rows =
                stmt.query_map([], |row| Ok((row.get::<_, String>(4)?, read_key_row(row)?)))?;
            for row in rows {
                let (peer_id, key) = row?;
                keys.entry(peer_id).or_default().push(key);
            }
            let sql = format!("SELECT {PEER_COLUMNS} FROM peers ORDER BY name");
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt
                .query_map([], read_peer_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|row| {
                    let held = keys.remove(&row.id).unwrap_or_default();
                    assemble(row, held)
                })
                .collect()
        })
    }

    fn remove(&self, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| {
            // Its keys and catalog go with it (ON DELETE CASCADE; the shared
            // open turns foreign keys on).
            let removed = conn.execute("DELETE FROM peers WHERE id = ?1", [id])?;
            Ok(removed > 0)
        })
    }

    fn seen(
        &self,
        id: &str,
        at_ms: u64,
        address: Option<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| {
            if let Some(address) = &address {
                check_address("/address", address)?;
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found = tx
                .query_row(
                    "SELECT addresses, last_seen_ms FROM peers WHERE id = ?1",
                    [&id],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?)),
                )
                .optional()?;
            let (addresses, last_seen_ms) = found.ok_or_else(|| peer_not_found(&id))?;
            let mut addresses: Vec<String> = serde_json::from_str(&addresses)
                .map_err(|err| StoreError::Backend(format!("addresses of peer {id}: {err}")))?;
            let mut last_seen_ms = last_seen_ms.map(|ms| ms as u64);
            sighted(&mut addresses, &mut last_seen_ms, at_ms, address);
            tx.execute(
                "UPDATE peers SET addresses = ?2, last_seen_ms = ?3 WHERE id = ?1",
                params![id, json(&addresses)?, last_seen_ms.map(|ms| ms as i64)],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn add_invite(&self, invite: Invite) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            check_invite(&invite)?;
            let result = conn.execute(
                "INSERT INTO invites (id, secret, name, trust, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    invite.id,
                    invite.secret,
                    invite.name,
                    invite.trust.as_str(),
                    ordered_u64(invite.expires_at_ms),
                ],
            );
            if broke(&result, rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) {
                return Err(invite_conflict(&invite.id));
            }
            result?;
            Ok(())
        })
    }

    fn take_invite(
        &self,
        id: &[u8; 16],
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Option<Invite>, StoreError>> {
        let id = *id;
        self.conn.boxed(move |conn| {
            // One statement deletes and returns the row: of two connections
            // taking the same invite, the second finds nothing to delete.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let taken = tx
                .query_row(
                    "DELETE FROM invites WHERE id = ?1
                     RETURNING secret, name, trust, expires_at_ms",
                    [id],
                    |row| read_invite(id, row),
                )
                .optional()?;
            purge_invites(&tx, now_ms)?;
            tx.commit()?;
            Ok(taken.filter(|invite| now_ms < invite.expires_at_ms))
        })
    }

    fn open_invites(&self, now_ms: u64) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.conn.boxed(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            purge_invites(&tx, now_ms)?;
            let open: i64 = tx.query_row("SELECT COUNT(*) FROM invites", [], |row| row.get(0))?;
            tx.commit()?;
            Ok(open as usize)
        })
    }

    fn set_catalog(
        &self,
        id: &str,
        catalog: Option<StoredCatalog>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !peer_exists(&tx, &id)? {
                return Err(peer_not_found(&id));
            }
            match catalog {
                Some(catalog) => tx.execute(
                    "INSERT INTO catalogs (peer_id, access, descriptors, imported_at_ms)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (peer_id) DO UPDATE SET access = excluded.access,
                         descriptors = excluded.descriptors,
                         imported_at_ms = excluded.imported_at_ms",
                    params![
                        id,
                        catalog.access.as_str(),
                        json(&catalog.descriptors)?,
                        catalog.imported_at_ms as i64,
                    ],
                )?,
                None => tx.execute("DELETE FROM catalogs WHERE peer_id = ?1", [&id])?,
            };
            tx.commit()?;
            Ok(())
        })
    }

    fn catalogs(&self) -> BoxFuture<'_, Result<Vec<(String, StoredCatalog)>, StoreError>> {
        self.conn.boxed(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT peer_id, access, descriptors, imported_at_ms FROM catalogs
                 ORDER BY peer_id",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)? as u64,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, access, descriptors, imported_at_ms)| {
                    let descriptors = serde_json::from_str(&descriptors).map_err(|err| {
                        StoreError::Backend(format!("catalog of peer {id}: {err}"))
                    })?;
                    let catalog = StoredCatalog {
                        access: read_access(&access)?,
                        descriptors,
                        imported_at_ms,
                    };
                    Ok((id, catalog))
                })
                .collect()
        })
    }
}
