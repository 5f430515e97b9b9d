//! `seed.json`: the persona's identity and configuration, kept in its home so
//! the home alone says who lives there. [`ensure_seed`] runs for every
//! persona on every boot (not only when it was first made): a missing seed is
//! written, a corrupt one healed, and the birth time is never reset.

use continuum_grid::keyfile::write_atomically;
use continuum_store::PersonaRecord;
use continuum_wire::Trust;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// The seed format's version.
const SEED_VERSION: u32 = 1;

/// The contents of `seed.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// Format version.
    pub version: u32,
    /// Persona id (also its home's directory name).
    pub id: String,
    /// Name.
    pub name: String,
    /// Birth time, Unix ms.
    pub born_at_ms: u64,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// Provider name.
    pub provider: String,
    /// Model override.
    #[serde(default)]
    pub model: Option<String>,
    /// System prompt.
    #[serde(default)]
    pub system_prompt: String,
    /// Thinking mode.
    pub thinking: String,
    /// Trust level.
    pub trust: Trust,
}

impl Seed {
    /// The seed for a persona record.
    pub fn of(record: &PersonaRecord) -> Seed {
        Seed {
            version: SEED_VERSION,
            id: record.id.clone(),
            name: record.name.clone(),
            born_at_ms: record.born_at_ms,
            public_key: record.public_key.clone(),
            provider: record.provider.clone(),
            model: record.model.clone(),
            system_prompt: record.system_prompt.clone(),
            thinking: record.thinking.clone(),
            trust: record.trust,
        }
    }

    /// The record this seed describes (active, updated now).
    pub fn into_record(self, now_ms: u64) -> PersonaRecord {
        PersonaRecord {
            id: self.id,
            name: self.name,
            born_at_ms: self.born_at_ms,
            public_key: self.public_key,
            provider: self.provider,
            model: self.model,
            system_prompt: self.system_prompt,
            thinking: self.thinking,
            trust: self.trust,
            retired_at_ms: None,
            updated_at_ms: now_ms,
        }
    }
}

/// What [`ensure_seed`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The seed was there and right.
    Kept,
    /// There was none; it was written.
    Created,
    /// It was unreadable or named another persona; it was rewritten.
    Healed,
    /// It was valid but out of date (e.g. after `persona/update`); rewritten.
    Updated,
}

/// Reads `path`, if it holds a valid seed for persona `id`.
pub fn read_seed(path: &Path, id: &str) -> Option<Seed> {
    let text = std::fs::read(path).ok()?;
    let seed: Seed = serde_json::from_slice(&text).ok()?;
    (seed.id == id && seed.version == SEED_VERSION).then_some(seed)
}

/// Makes `path` hold exactly `expected`, except that a valid seed's birth
/// time for the same persona is kept over `expected`'s: a persona's age never
/// resets. Returns what was done and the seed now on disk.
pub fn ensure_seed(path: &Path, expected: &Seed) -> io::Result<(SeedOutcome, Seed)> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    let parsed = existing
        .as_deref()
        .and_then(|bytes| serde_json::from_slice::<Seed>(bytes).ok())
        .filter(|seed| seed.id == expected.id && seed.version == SEED_VERSION);
    let mut wanted = expected.clone();
    if let Some(seed) = &parsed {
        wanted.born_at_ms = seed.born_at_ms;
    }
    let outcome = match (&existing, &parsed) {
        (None, _) => SeedOutcome::Created,
        (Some(_), None) => SeedOutcome::Healed,
        (Some(_), Some(seed)) if *seed == wanted => return Ok((SeedOutcome::Kept, wanted)),
        (Some(_), Some(_)) => SeedOutcome::Updated,
    };
    write_seed(path, &wanted)?;
    Ok((outcome, wanted))
}

/// Writes a seed atomically, owner-only.
pub fn write_seed(path: &Path, seed: &Seed) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(seed).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomically(path, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(id: &str, born: u64) -> Seed {
        Seed {
            version: SEED_VERSION,
            id: id.into(),
            name: "asha".into(),
            born_at_ms: born,
            public_key: "ab".repeat(32),
            provider: "local".into(),
            model: None,
            system_prompt: "Be brief.".into(),
            thinking: "suppress".into(),
            trust: Trust::Provisional,
        }
    }

    #[test]
    fn a_missing_seed_is_created_and_a_right_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.json");
        let s = seed("p1", 1000);
        assert_eq!(
            ensure_seed(&path, &s).unwrap(),
            (SeedOutcome::Created, s.clone())
        );
        assert_eq!(
            ensure_seed(&path, &s).unwrap(),
            (SeedOutcome::Kept, s.clone())
        );
        assert_eq!(read_seed(&path, "p1"), Some(s));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_corrupt_seed_heals_and_a_seed_for_another_persona_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.json");
        std::fs::write(&path, "{\"id\": \"p1\", trunc").unwrap();
        let s = seed("p1", 1000);
        assert_eq!(ensure_seed(&path, &s).unwrap().0, SeedOutcome::Healed);
        write_seed(&path, &seed("p2", 5)).unwrap();
        assert_eq!(ensure_seed(&path, &s).unwrap(), (SeedOutcome::Healed, s));
    }

    #[test]
    fn the_birth_time_on_disk_survives_any_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.json");
        write_seed(&path, &seed("p1", 1000)).unwrap();
        let mut changed = seed("p1", 9999);
        changed.system_prompt = "Be verbose.".into();
        let (outcome, on_disk) = ensure_seed(&path, &changed).unwrap();
        assert_eq!(outcome, SeedOutcome::Updated);
        assert_eq!(on_disk.born_at_ms, 1000);
        assert_eq!(on_disk.system_prompt, "Be verbose.");
        assert_eq!(read_seed(&path, "p1").unwrap().born_at_ms, 1000);
    }
}
