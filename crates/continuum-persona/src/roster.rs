//! The roster: every persona this node hosts, resumed from its home at boot,
//! and the only code that creates, changes or retires one.
//!
//! Identity rules held here:
//! - a persona's key is made once, in [`Roster::create`], next to a home
//!   that did not exist before; resuming never makes a key, so a home whose
//!   key is missing or unreadable is reported and left alone;
//! - the registry ([`PersonaStore`]) and the home's `seed.json` each keep a
//!   copy of the identity; at boot each heals the other, the birth time
//!   never changes, and the id (which carries the birth time) is the
//!   directory name;
//! - retiring moves the home to the archive; nothing is deleted.

use crate::home::PersonaHome;
use crate::seed::{ensure_seed, read_seed, Seed, SeedOutcome};
use continuum_grant::{issue_grant, GrantSpec, LimitError, SignedGrant};
use continuum_grid::keyfile::{create_key, read_key};
use continuum_grid::{GrantSigner, IdentityError, PersonaIssuers};
use continuum_inference::ThinkingMode;
use continuum_kernel::credential::{IssuingPersona, PersonaDirectory};
use continuum_store::{id_time_ms, new_id, PersonaRecord, PersonaStore, StoreError};
use continuum_wire::{Home, Trust};
use ed25519_dalek::SigningKey;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Longest persona name.
pub const MAX_NAME_LEN: usize = 32;
/// Longest system prompt, in bytes.
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 16 * 1024;

/// Why a roster operation failed. Each names the param at fault where one is.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// A param is unacceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// JSON pointer of the param.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such persona.
    #[error("no persona named or with id '{0}'")]
    NotFound(String),
    /// The name is taken.
    #[error("a persona named '{0}' already exists")]
    NameTaken(String),
    /// The registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The home or key could not be written.
    #[error("persona home: {0}")]
    Home(String),
}

impl PersonaError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        PersonaError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Where a persona stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonaStatus {
    /// Resumed and answering.
    Active,
    /// Retired; its home is in the archive.
    Retired,
    /// Its key file is gone. Not resumed; no new key is made for it.
    KeyMissing,
    /// Its key file cannot be used (permissions, corrupt). Not resumed.
    KeyUnreadable,
    /// Its key is not the one the persona was born with. Not resumed.
    KeyMismatch,
    /// The registry knows it but its home is gone. Not resumed.
    HomeMissing,
    /// Its home names it like another active persona. Not resumed until one
    /// of them is renamed or retired.
    NameConflict,
    /// Its home cannot be written (the seed could not be ensured). Not resumed.
    HomeUnwritable,
}

/// A persona as commands show it. Never holds its secret key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaView {
    /// Id (time-ordered, never reused).
    pub id: String,
    /// Name (`@name` addresses it in a room).
    pub name: String,
    /// Birth time, Unix ms.
    pub born_at_ms: u64,
    /// Where it stands.
    pub status: PersonaStatus,
    /// Why it is not active, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Provider name.
    pub provider: String,
    /// Model override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Thinking mode.
    pub thinking: String,
    /// Trust level.
    pub trust: Trust,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// System prompt (shown to the owner only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_prompt: String,
}

/// What `persona/create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewPersona {
    /// Name.
    pub name: String,
    /// Provider name.
    pub provider: String,
    /// Model override.
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// Thinking mode (default: suppress; small local models answer better
    /// without visible reasoning, and the reasoning is kept apart anyway).
    pub thinking: Option<ThinkingMode>,
    /// Trust (default Provisional; never Owner).
    pub trust: Option<Trust>,
}

/// What `persona/update` changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PersonaPatch {
    /// New name.
    pub name: Option<String>,
    /// New provider.
    pub provider: Option<String>,
    /// New model (`Some("")` clears the override).
    pub model: Option<String>,
    /// New system prompt.
    pub system_prompt: Option<String>,
    /// New thinking mode.
    pub thinking: Option<ThinkingMode>,
    /// New trust.
    pub trust: Option<Trust>,
}

/// A persona that resumed: its record and its key.
pub struct LivePersona {
    record: PersonaRecord,
    key: SigningKey,
    /// The public half, derived once (the gate looks it up per call).
    public: [u8; 32],
}

// By hand, so the key never reaches a log through `{:?}`.
impl fmt::Debug for LivePersona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivePersona")
            .field("id", &self.record.id)
            .field("name", &self.record.name)
            .finish_non_exhaustive()
    }
}

impl LivePersona {
    fn new(record: PersonaRecord, key: SigningKey) -> LivePersona {
        let public = key.verifying_key().to_bytes();
        LivePersona {
            record,
            key,
            public,
        }
    }

    /// Its record.
    pub fn record(&self) -> &PersonaRecord {
        &self.record
    }

    /// Id.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// Trust.
    pub fn trust(&self) -> Trust {
        self.record.trust
    }

    /// Thinking mode.
    pub fn thinking(&self) -> ThinkingMode {
        self.record
            .thinking
            .parse()
            .unwrap_or(ThinkingMode::Suppress)
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }
}

/// A persona signs grants for its own compute; the key never leaves it.
impl GrantSigner for LivePersona {
    fn sign_grant(&self, spec: GrantSpec) -> Result<SignedGrant, LimitError> {
        issue_grant(&self.key, spec)
    }
}

/// This node pins its active personas' keys as grant issuers, with their
/// trust as it is at decision time.
impl PersonaIssuers for Roster {
    fn persona(&self, key: &[u8; 32]) -> Option<IssuingPersona> {
        self.by_key(key).map(|live| IssuingPersona {
            persona_id: live.id().to_owned(),
            trust: live.trust(),
        })
    }
}

impl PersonaDirectory for Roster {
    fn find(&self, name_or_id: &str) -> Option<IssuingPersona> {
        self.resolve(name_or_id).ok().map(|live| IssuingPersona {
            persona_id: live.id().to_owned(),
            trust: live.trust(),
        })
    }
}

/// What resuming found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResumeReport {
    /// Personas resumed as themselves.
    pub resumed: usize,
    /// Seeds written because they were missing.
    pub seeds_created: usize,
    /// Seeds rewritten because they were corrupt or stale.
    pub seeds_healed: usize,
    /// Personas not resumed, with why.
    pub problems: Vec<(String, PersonaStatus)>,
}

#[derive(Default)]
struct State {
    live: BTreeMap<String, Arc<LivePersona>>,
    problems: BTreeMap<String, Problem>,
}

/// A persona that did not resume, and why.
struct Problem {
    status: PersonaStatus,
    detail: String,
    /// What its home says about it, when the registry does not know it.
    unregistered: Option<PersonaRecord>,
}

/// The personas this node hosts.
pub struct Roster {
    home: Home,
    records: Arc<dyn PersonaStore>,
    state: RwLock<State>,
    /// Serializes create, update, retire and resume: names stay unique and a
    /// home is never worked on twice at once.
    changes: tokio::sync::Mutex<()>,
}

impl Roster {
    /// A roster over `home`'s persona homes and the `records` registry.
    /// Nothing is resumed until [`Roster::resume_all`].
    pub fn new(home: Home, records: Arc<dyn PersonaStore>) -> Roster {
        Roster {
            home,
            records,
            state: RwLock::new(State::default()),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Resumes every persona home as itself. Run once at boot.
    pub async fn resume_all(&self) -> Result<ResumeReport, PersonaError> {
        let _guard = self.changes.lock().await;
        let mut report = ResumeReport::default();
        let homes = PersonaHome::scan(&self.home).unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot read the persona homes; none resumed");
            Vec::new()
        });
        let mut records: BTreeMap<String, PersonaRecord> = self
            .records
            .list()
            .await?
            .into_iter()
            .map(|record| (record.id.clone(), record))
            .collect();
        let mut state = State::default();
        let mut problem = |id: &str, status, detail: String, unregistered| {
            let detail = self.shown(&detail);
            tracing::error!(persona = %id, status = ?status, detail = %detail, "persona not resumed");
            report.problems.push((id.to_owned(), status));
            state.problems.insert(
                id.to_owned(),
                Problem {
                    status,
                    detail,
                    unregistered,
                },
            );
        };
        let mut resumed = Vec::new();
        for home in homes {
            let record = match records.remove(home.id()) {
                Some(record) => record,
                // The home is the truth: the registry heals from it.
                None => match recover_record(&home) {
                    Ok(record) => match self.records.insert(record.clone()).await {
                        Ok(()) => {
                            tracing::warn!(
                                persona = home.id(),
                                "persona registry entry restored from its home"
                            );
                            record
                        }
                        Err(err) => {
                            let status = match err {
                                StoreError::Conflict(_) => PersonaStatus::NameConflict,
                                _ => PersonaStatus::HomeUnwritable,
                            };
                            problem(home.id(), status, err.to_string(), Some(record));
                            continue;
                        }
                    },
                    Err((status, detail, record)) => {
                        problem(home.id(), status, detail, Some(*record));
                        continue;
                    }
                },
            };
            if record.retired_at_ms.is_some() {
                // Retired, but the archive move did not finish: finish it.
                if let Err(err) = home.archive(&self.home) {
                    tracing::error!(persona = home.id(), error = %err, "could not archive a retired persona's home");
                }
                continue;
            }
            let id = record.id.clone();
            match resume_one(&home, record) {
                Ok((live, outcome)) => {
                    match outcome {
                        SeedOutcome::Created => report.seeds_created += 1,
                        SeedOutcome::Healed | SeedOutcome::Updated => report.seeds_healed += 1,
                        SeedOutcome::Kept => {}
                    }
                    tracing::info!(persona = %id, name = live.name(), seed = ?outcome, "persona resumed");
                    resumed.push(live);
                }
                Err((status, detail)) => problem(&id, status, detail, None),
            }
        }
        for (id, record) in records {
            if record.retired_at_ms.is_none() {
                let detail = format!(
                    "its home {} is gone",
                    PersonaHome::of(&self.home, &id).dir().display()
                );
                problem(&id, PersonaStatus::HomeMissing, detail, None);
            }
        }
        report.resumed = resumed.len();
        state.live = resumed
            .into_iter()
            .map(|live| (live.id().to_owned(), Arc::new(live)))
            .collect();
        *self.state.write().expect("roster lock") = state;
        Ok(report)
    }

    /// `text` with the home's absolute path shown as `$CONTINUUM_HOME`, so
    /// no caller learns where the home is.
    fn shown(&self, text: &str) -> String {
        text.replace(&self.home.root().display().to_string(), "$CONTINUUM_HOME")
    }

    /// Creates a persona: a new id, a new home, a new key, its seed and its
    /// registry record.
    pub async fn create(&self, spec: NewPersona) -> Result<PersonaView, PersonaError> {
        let _guard = self.changes.lock().await;
        check_name(&spec.name)?;
        self.check_name_free(&spec.name, None).await?;
        check_provider(&spec.provider)?;
        let trust = check_trust(spec.trust.unwrap_or(Trust::Provisional))?;
        let system_prompt = check_prompt(spec.system_prompt.unwrap_or_default())?;
        let id = new_id();
        let born_at_ms = id_time_ms(&id).expect("new ids carry their time");
        let home = PersonaHome::of(&self.home, &id);
        home.create().map_err(|err| {
            PersonaError::Home(format!("creating {}: {err}", home.dir().display()))
        })?;
        let key = create_key(&home.key_file()).map_err(home_error)?;
        let record = PersonaRecord {
            id: id.clone(),
            name: spec.name,
            born_at_ms,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            provider: spec.provider,
            model: spec.model.filter(|model| !model.is_empty()),
            system_prompt,
            thinking: spec.thinking.unwrap_or(ThinkingMode::Suppress).to_string(),
            trust,
            retired_at_ms: None,
            updated_at_ms: born_at_ms,
        };
        ensure_seed(&home.seed_file(), &Seed::of(&record))
            .map_err(|err| PersonaError::Home(format!("writing the seed: {err}")))?;
        if let Err(err) = self.records.insert(record.clone()).await {
            // Never leave an unregistered home to be resumed later: archive it.
            if let Err(moved) = home.archive(&self.home) {
                tracing::error!(persona = %id, error = %moved, "could not archive a persona home whose creation failed");
            }
            return Err(match err {
                StoreError::Conflict(_) => PersonaError::NameTaken(record.name),
                err => err.into(),
            });
        }
        tracing::info!(persona = %id, name = %record.name, "persona created");
        let live = Arc::new(LivePersona::new(record, key));
        let view = view_of(live.record(), PersonaStatus::Active, None);
        self.state
            .write()
            .expect("roster lock")
            .live
            .insert(id, live);
        Ok(view)
    }

    /// Changes an active persona's name or configuration (registry and seed).
    pub async fn update(
        &self,
        name_or_id: &str,
        patch: PersonaPatch,
    ) -> Result<PersonaView, PersonaError> {
        let _guard = self.changes.lock().await;
        let live = self.resolve(name_or_id)?;
        let mut record = live.record.clone();
        if let Some(name) = patch.name {
            check_name(&name)?;
            self.check_name_free(&name, Some(&record.id)).await?;
            record.name = name;
        }
        if let Some(provider) = patch.provider {
            check_provider(&provider)?;
            record.provider = provider;
        }
        if let Some(model) = patch.model {
            record.model = (!model.is_empty()).then_some(model);
        }
        if let Some(prompt) = patch.system_prompt {
            record.system_prompt = check_prompt(prompt)?;
        }
        if let Some(thinking) = patch.thinking {
            record.thinking = thinking.to_string();
        }
        if let Some(trust) = patch.trust {
            record.trust = check_trust(trust)?;
        }
        record.updated_at_ms = continuum_kernel::clock::now_ms();
        let home = PersonaHome::of(&self.home, &record.id);
        ensure_seed(&home.seed_file(), &Seed::of(&record))
            .map_err(|err| PersonaError::Home(format!("writing the seed: {err}")))?;
        self.records.update(record.clone()).await?;
        let updated = Arc::new(LivePersona::new(record, live.key.clone()));
        let view = view_of(updated.record(), PersonaStatus::Active, None);
        self.state
            .write()
            .expect("roster lock")
            .live
            .insert(updated.id().to_owned(), updated);
        Ok(view)
    }

    /// Retires an active persona: it stops answering and its home moves to
    /// the archive, whole.
    pub async fn retire(&self, name_or_id: &str) -> Result<PersonaView, PersonaError> {
        let _guard = self.changes.lock().await;
        let live = self.resolve(name_or_id)?;
        let mut record = live.record.clone();
        let now = continuum_kernel::clock::now_ms();
        record.retired_at_ms = Some(now);
        record.updated_at_ms = now;
        // Record first: a crash before the move is finished at the next boot.
        self.records.update(record.clone()).await?;
        self.state
            .write()
            .expect("roster lock")
            .live
            .remove(&record.id);
        let home = PersonaHome::of(&self.home, &record.id);
        let archived = home.archive(&self.home).map_err(|err| {
            PersonaError::Home(format!("archiving {}: {err}", home.dir().display()))
        })?;
        tracing::info!(persona = %record.id, archive = %archived.display(), "persona retired");
        Ok(view_of(&record, PersonaStatus::Retired, None))
    }

    /// Every persona ever created, by birth.
    pub async fn list(&self) -> Result<Vec<PersonaView>, PersonaError> {
        let records = self.records.list().await?;
        let state = self.state.read().expect("roster lock");
        Ok(records
            .iter()
            .map(|record| {
                if record.retired_at_ms.is_some() {
                    return view_of(record, PersonaStatus::Retired, None);
                }
                if let Some(live) = state.live.get(&record.id) {
                    return view_of(live.record(), PersonaStatus::Active, None);
                }
                match state.problems.get(&record.id) {
                    Some(problem) => view_of(record, problem.status, Some(problem.detail.clone())),
                    None => view_of(record, PersonaStatus::HomeMissing, None),
                }
            })
            .chain(state.problems.values().filter_map(|problem| {
                let record = problem.unregistered.as_ref()?;
                Some(view_of(
                    record,
                    problem.status,
                    Some(problem.detail.clone()),
                ))
            }))
            .collect())
    }

    /// One persona by name (active ones) or id (any).
    pub async fn show(&self, name_or_id: &str) -> Result<PersonaView, PersonaError> {
        self.list()
            .await?
            .into_iter()
            .filter(|view| {
                view.id == name_or_id
                    || (view.status != PersonaStatus::Retired
                        && view.name.eq_ignore_ascii_case(name_or_id))
            })
            .min_by_key(|view| view.status != PersonaStatus::Active)
            .ok_or_else(|| PersonaError::NotFound(name_or_id.to_owned()))
    }

    /// The active persona with this id or name (names match without case).
    pub fn resolve(&self, name_or_id: &str) -> Result<Arc<LivePersona>, PersonaError> {
        let state = self.state.read().expect("roster lock");
        state
            .live
            .get(name_or_id)
            .or_else(|| {
                state
                    .live
                    .values()
                    .find(|live| live.name().eq_ignore_ascii_case(name_or_id))
            })
            .cloned()
            .ok_or_else(|| PersonaError::NotFound(name_or_id.to_owned()))
    }

    /// The active persona with this id.
    pub fn live(&self, id: &str) -> Option<Arc<LivePersona>> {
        self.state
            .read()
            .expect("roster lock")
            .live
            .get(id)
            .cloned()
    }

    /// The active persona whose key is `key`.
    pub fn by_key(&self, key: &[u8; 32]) -> Option<Arc<LivePersona>> {
        let state = self.state.read().expect("roster lock");
        state
            .live
            .values()
            .find(|live| &live.public_key() == key)
            .cloned()
    }

    /// The public keys of every active persona (the grant issuers this node
    /// pins besides its own key).
    pub fn public_keys(&self) -> Vec<[u8; 32]> {
        let state = self.state.read().expect("roster lock");
        state.live.values().map(|live| live.public_key()).collect()
    }

    /// Names are unique among personas that are not retired, whether they
    /// run or not (a persona whose key is missing still owns its name).
    async fn check_name_free(&self, name: &str, except: Option<&str>) -> Result<(), PersonaError> {
        let taken = self.records.list().await?.into_iter().any(|record| {
            record.retired_at_ms.is_none()
                && record.name.eq_ignore_ascii_case(name)
                && Some(record.id.as_str()) != except
        });
        if taken {
            return Err(PersonaError::NameTaken(name.to_owned()));
        }
        Ok(())
    }
}

/// Resumes one home as the persona `record` describes, or says why not.
/// Never makes a key.
fn resume_one(
    home: &PersonaHome,
    record: PersonaRecord,
) -> Result<(LivePersona, SeedOutcome), (PersonaStatus, String)> {
    let key = match read_key(&home.key_file()) {
        Ok(key) => key,
        Err(IdentityError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err((
                PersonaStatus::KeyMissing,
                format!(
                    "{} is missing; a persona's key is never re-made (restore it from a backup)",
                    home.key_file().display()
                ),
            ))
        }
        Err(err) => return Err((PersonaStatus::KeyUnreadable, err.to_string())),
    };
    if hex::encode(key.verifying_key().to_bytes()) != record.public_key {
        return Err((
            PersonaStatus::KeyMismatch,
            format!(
                "{} is not the key this persona was born with",
                home.key_file().display()
            ),
        ));
    }
    let (outcome, seed) = ensure_seed(&home.seed_file(), &Seed::of(&record)).map_err(|err| {
        (
            PersonaStatus::KeyUnreadable,
            format!("writing the seed: {err}"),
        )
    })?;
    let mut record = record;
    record.born_at_ms = seed.born_at_ms;
    Ok((LivePersona::new(record, key), outcome))
}

/// A registry record for a home the registry does not know: from its seed,
/// or (no usable seed) from what the home itself proves: the id, the birth
/// time the id carries, and the key. A seed's trust and name are checked as
/// if the owner had typed them. Without a seed and a readable key the home
/// proves too little to register: it is reported, and retried at every boot.
fn recover_record(
    home: &PersonaHome,
) -> Result<PersonaRecord, (PersonaStatus, String, Box<PersonaRecord>)> {
    let now = continuum_kernel::clock::now_ms();
    let suffix = &home.id()[home.id().len() - 6..];
    let fallback_name = format!("persona-{suffix}");
    if let Some(seed) = read_seed(&home.seed_file(), home.id()) {
        let mut record = seed.into_record(now);
        if check_trust(record.trust).is_err() {
            record.trust = Trust::Provisional;
        }
        if check_name(&record.name).is_err() {
            record.name = fallback_name;
        }
        record.born_at_ms = id_time_ms(home.id()).unwrap_or(record.born_at_ms);
        return Ok(record);
    }
    let mut record = PersonaRecord {
        id: home.id().to_owned(),
        name: fallback_name,
        born_at_ms: id_time_ms(home.id()).unwrap_or(now),
        public_key: String::new(),
        provider: "local".into(),
        model: None,
        system_prompt: String::new(),
        thinking: ThinkingMode::Suppress.to_string(),
        trust: Trust::Provisional,
        retired_at_ms: None,
        updated_at_ms: now,
    };
    match read_key(&home.key_file()) {
        Ok(key) => {
            record.public_key = hex::encode(key.verifying_key().to_bytes());
            Ok(record)
        }
        Err(IdentityError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err((
                PersonaStatus::KeyMissing,
                format!("{} and its seed are missing", home.key_file().display()),
                Box::new(record),
            ))
        }
        Err(err) => Err((
            PersonaStatus::KeyUnreadable,
            err.to_string(),
            Box::new(record),
        )),
    }
}

fn view_of(record: &PersonaRecord, status: PersonaStatus, detail: Option<String>) -> PersonaView {
    PersonaView {
        id: record.id.clone(),
        name: record.name.clone(),
        born_at_ms: record.born_at_ms,
        status,
        detail,
        provider: record.provider.clone(),
        model: record.model.clone(),
        thinking: record.thinking.clone(),
        trust: record.trust,
        public_key: record.public_key.clone(),
        system_prompt: record.system_prompt.clone(),
    }
}

fn home_error(err: IdentityError) -> PersonaError {
    PersonaError::Home(err.to_string())
}

/// Names: 1-32 characters of letters, digits, `_` and `-`, starting with a
/// letter, so `@name` in a message is unambiguous.
fn check_name(name: &str) -> Result<(), PersonaError> {
    let ok = name.len() <= MAX_NAME_LEN
        && !crate::home::is_persona_id(&name.to_ascii_lowercase())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(PersonaError::invalid(
            "/name",
            format!("'{name}' is not a persona name: 1-{MAX_NAME_LEN} letters, digits, '_' or '-', starting with a letter"),
        ))
    }
}

fn check_provider(provider: &str) -> Result<(), PersonaError> {
    if provider.trim().is_empty() || provider.len() > 64 {
        return Err(PersonaError::invalid(
            "/provider",
            "name a provider from providers.toml (1-64 characters)",
        ));
    }
    Ok(())
}

fn check_trust(trust: Trust) -> Result<Trust, PersonaError> {
    match trust {
        Trust::Owner => Err(PersonaError::invalid(
            "/trust",
            "a persona is never the owner: choose provisional (the default), trusted or blocked",
        )),
        trust => Ok(trust),
    }
}

fn check_prompt(prompt: String) -> Result<String, PersonaError> {
    if prompt.len() > MAX_SYSTEM_PROMPT_BYTES {
        return Err(PersonaError::invalid(
            "/systemPrompt",
            format!("{} bytes; at most {MAX_SYSTEM_PROMPT_BYTES}", prompt.len()),
        ));
    }
    Ok(prompt)
}
