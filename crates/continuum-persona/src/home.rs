//! Where a persona lives on disk. One function, [`PersonaHome::of`],
//! computes a persona's home for the code that creates it and for the code
//! that resumes it at boot ([`PersonaHome::scan`] goes through it too), so the
//! two can never disagree about where a persona is: a disagreement is how a
//! host ends up minting a stranger for a home it failed to find.
//!
//! ```text
//! <home>/personas/<id>/seed.json          identity and configuration (0600)
//! <home>/personas/<id>/persona.key        ed25519 seed, hex (0600)
//! <home>/personas/<id>/memories.sqlite    its memories (0600)
//! <home>/archive/personas/<id>/           a retired persona, kept whole
//! ```

use continuum_wire::Home;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const SEED_FILE: &str = "seed.json";
const KEY_FILE: &str = "persona.key";

/// One persona's home directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaHome {
    id: String,
    dir: PathBuf,
}

impl PersonaHome {
    /// The home of persona `id` under `home`: the one path both the writer
    /// and the resumer use.
    pub fn of(home: &Home, id: &str) -> PersonaHome {
        PersonaHome {
            id: id.to_owned(),
            dir: home.personas_dir().join(id),
        }
    }

    /// Every persona home under `home`, by id. Entries that are not
    /// directories named by a persona id are skipped (and logged).
    pub fn scan(home: &Home) -> io::Result<Vec<PersonaHome>> {
        let dir = home.personas_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut homes = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|id| is_persona_id(id)) else {
                tracing::warn!(entry = ?entry.path(), "not a persona home; skipped");
                continue;
            };
            if entry.file_type()?.is_dir() {
                homes.push(PersonaHome::of(home, id));
            }
        }
        homes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(homes)
    }

    /// The persona's id (its directory name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its `seed.json`.
    pub fn seed_file(&self) -> PathBuf {
        self.dir.join(SEED_FILE)
    }

    /// Its key file.
    pub fn key_file(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// Creates the directory (0700). Fails if it exists: a home is made once.
    pub fn create(&self) -> io::Result<()> {
        if let Some(parent) = self.dir.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        std::fs::DirBuilder::new().mode(0o700).create(&self.dir)
    }

    /// Moves the home to the archive, whole. Returns where it went.
    pub fn archive(&self, home: &Home) -> io::Result<PathBuf> {
        let archive = home.archived_personas_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&archive)?;
        let target = archive.join(&self.id);
        if target.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is already archived", self.id),
            ));
        }
        std::fs::rename(&self.dir, &target)?;
        Ok(target)
    }
}

/// Whether `id` has the shape of a persona id (26 lowercase hex characters,
/// time-ordered: see `continuum_store::new_id`).
pub fn is_persona_id(id: &str) -> bool {
    continuum_store::id_time_ms(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_and_the_resumer_agree_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let id = continuum_store::new_id();
        let written = PersonaHome::of(&home, &id);
        written.create().unwrap();
        std::fs::write(written.seed_file(), "{}").unwrap();
        let resumed = PersonaHome::scan(&home).unwrap();
        assert_eq!(resumed, vec![written.clone()]);
        assert_eq!(resumed[0].seed_file(), written.seed_file());
        assert_eq!(resumed[0].key_file(), written.key_file());
        assert!(written.dir().starts_with(home.personas_dir()));
    }

    #[test]
    fn a_home_is_created_once_and_scanning_skips_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let persona = PersonaHome::of(&home, &continuum_store::new_id());
        persona.create().unwrap();
        assert_eq!(
            persona.create().unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        std::fs::create_dir(home.personas_dir().join("not-an-id")).unwrap();
        std::fs::write(home.personas_dir().join("README"), "x").unwrap();
        assert_eq!(PersonaHome::scan(&home).unwrap(), vec![persona]);
    }

    #[test]
    fn archiving_moves_the_whole_home_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let persona = PersonaHome::of(&home, &continuum_store::new_id());
        persona.create().unwrap();
        std::fs::write(persona.key_file(), "k").unwrap();
        let archived = persona.archive(&home).unwrap();
        assert!(!persona.dir().exists());
        assert_eq!(
            std::fs::read_to_string(archived.join(KEY_FILE)).unwrap(),
            "k"
        );
        assert!(PersonaHome::scan(&home).unwrap().is_empty());
    }
}
