//! The roster against real files: resume, heal, never mint twice, retire.

use continuum_persona::{NewPersona, PersonaHome, PersonaStatus, PersonaView, Roster};
use continuum_store::{InMemoryPersonas, PersonaStore};
use continuum_wire::{Home, Trust};
use std::sync::Arc;

fn spec(name: &str) -> NewPersona {
    NewPersona {
        name: name.into(),
        provider: "local".into(),
        system_prompt: Some("Be brief.".into()),
        ..NewPersona::default()
    }
}

/// A fresh home and a persona `name` created in it by a roster over a
/// registry of its own (tests then resume it with another registry, or the
/// same one).
async fn home_with(name: &str) -> (tempfile::TempDir, Home, PersonaView) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let made = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()))
        .create(spec(name))
        .await
        .unwrap();
    (dir, home, made)
}

#[tokio::test]
async fn a_home_resumes_as_the_same_persona_even_when_the_registry_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let roster = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()));
    let made = roster.create(spec("asha")).await.unwrap();
    let key_before = std::fs::read(PersonaHome::of(&home, &made.id).key_file()).unwrap();

    // A new registry (lost database): the home alone brings asha back.
    let fresh = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()));
    let report = fresh.resume_all().await.unwrap();
    assert_eq!(report.resumed, 1);
    let listed = fresh.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].born_at_ms),
        (made.id.as_str(), made.born_at_ms)
    );
    assert_eq!(listed[0].name, "asha");
    assert_eq!(listed[0].system_prompt, "Be brief.");
    assert_eq!(listed[0].status, PersonaStatus::Active);
    let key_after = std::fs::read(PersonaHome::of(&home, &made.id).key_file()).unwrap();
    assert_eq!(key_before, key_after);
    // Resuming twice mints nothing either.
    fresh.resume_all().await.unwrap();
    assert_eq!(PersonaHome::scan(&home).unwrap().len(), 1);
}

#[tokio::test]
async fn a_home_without_seed_or_registry_entry_keeps_its_id_birth_and_key() {
    let (_dir, home, made) = home_with("asha").await;
    let persona = PersonaHome::of(&home, &made.id);
    std::fs::remove_file(persona.seed_file()).unwrap();
    let records = Arc::new(InMemoryPersonas::new());
    let roster = Roster::new(home.clone(), records.clone());
    roster.resume_all().await.unwrap();
    let record = records.get(&made.id).await.unwrap().unwrap();
    assert_eq!(
        record.born_at_ms, made.born_at_ms,
        "the id carries the birth time"
    );
    assert_eq!(record.public_key, made.public_key);
    assert!(persona.seed_file().exists(), "the seed was written back");
    assert_eq!(roster.live(&made.id).unwrap().trust(), Trust::Provisional);
}

#[tokio::test]
async fn an_unusable_key_is_reported_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let records: Arc<dyn PersonaStore> = Arc::new(InMemoryPersonas::new());
    let made = Roster::new(home.clone(), Arc::clone(&records))
        .create(spec("asha"))
        .await
        .unwrap();
    let key = PersonaHome::of(&home, &made.id).key_file();
    std::fs::write(&key, "not a key").unwrap();
    let roster = Roster::new(home.clone(), Arc::clone(&records));
    let report = roster.resume_all().await.unwrap();
    assert_eq!(
        report.problems,
        vec![(made.id.clone(), PersonaStatus::KeyUnreadable)]
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "not a key");
    assert!(roster.live(&made.id).is_none());
    assert_eq!(
        roster.list().await.unwrap()[0].status,
        PersonaStatus::KeyUnreadable
    );
}

#[tokio::test]
async fn retiring_archives_and_frees_the_name_but_never_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let roster = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()));
    let first = roster.create(spec("asha")).await.unwrap();
    assert!(
        roster.create(spec("ASHA")).await.is_err(),
        "names are unique without case"
    );
    roster.retire("asha").await.unwrap();
    assert!(home
        .archived_personas_dir()
        .join(&first.id)
        .join("seed.json")
        .exists());
    assert!(!PersonaHome::of(&home, &first.id).dir().exists());
    let second = roster.create(spec("asha")).await.unwrap();
    assert_ne!(first.id, second.id);
    let owner = roster
        .create(NewPersona {
            trust: Some(Trust::Owner),
            ..spec("eve")
        })
        .await;
    assert!(owner.unwrap_err().to_string().contains("/trust"));
}

#[tokio::test]
async fn memories_live_in_the_persona_home_and_leave_with_it() {
    use continuum_persona::HomeMemories;
    use continuum_store::{MemoryStore, NewMemory, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let roster = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()));
    let asha = roster.create(spec("asha")).await.unwrap();
    let memories = HomeMemories::new(home.clone());
    let remember = |persona_id: &str| NewMemory {
        persona_id: persona_id.into(),
        text: "The owner's cat is called Miso".into(),
        tags: vec![],
    };
    memories.remember(remember(&asha.id)).await.unwrap();
    let file = PersonaHome::of(&home, &asha.id)
        .dir()
        .join("memories.sqlite");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(memories.recall(&asha.id, "cat", 5).await.unwrap().len(), 1);

    // Retired: the memories went to the archive with the home, and nothing
    // re-creates the home to hold new ones.
    roster.retire("asha").await.unwrap();
    assert!(home
        .archived_personas_dir()
        .join(&asha.id)
        .join("memories.sqlite")
        .exists());
    let after = memories.remember(remember(&asha.id)).await;
    assert!(matches!(after, Err(StoreError::NotFound(_))), "{after:?}");
    assert!(!PersonaHome::of(&home, &asha.id).dir().exists());
    // Only persona ids route to a file: no path tricks.
    for id in ["../identity", "", "01a2"] {
        assert!(
            matches!(memories.count(id).await, Err(StoreError::NotFound(_))),
            "{id}"
        );
    }
}

#[tokio::test]
async fn a_name_stays_taken_while_its_persona_is_broken_and_a_clash_never_stops_the_boot() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let records: Arc<dyn PersonaStore> = Arc::new(InMemoryPersonas::new());
    let alice = Roster::new(home.clone(), Arc::clone(&records))
        .create(spec("alice"))
        .await
        .unwrap();
    std::fs::remove_file(PersonaHome::of(&home, &alice.id).key_file()).unwrap();
    let roster = Roster::new(home.clone(), Arc::clone(&records));
    roster.resume_all().await.unwrap();
    let err = roster.create(spec("Alice")).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(PersonaHome::scan(&home).unwrap().len(), 1, "no stray home");

    // A home copied in from elsewhere, named like an existing persona.
    let other = Home::at(dir.path().join("elsewhere"));
    let copied = Roster::new(other.clone(), Arc::new(InMemoryPersonas::new()))
        .create(spec("alice"))
        .await
        .unwrap();
    std::fs::rename(
        PersonaHome::of(&other, &copied.id).dir(),
        PersonaHome::of(&home, &copied.id).dir(),
    )
    .unwrap();
    let roster = Roster::new(home.clone(), Arc::clone(&records));
    let report = roster.resume_all().await.unwrap();
    assert!(
        report
            .problems
            .contains(&(copied.id.clone(), PersonaStatus::NameConflict)),
        "{report:?}"
    );
    let listed = roster.list().await.unwrap();
    let clash = listed.iter().find(|p| p.id == copied.id).expect("listed");
    assert_eq!(clash.status, PersonaStatus::NameConflict);
    assert!(
        !clash
            .detail
            .as_deref()
            .unwrap_or("")
            .contains(dir.path().to_str().unwrap()),
        "no absolute paths"
    );
}

#[tokio::test]
async fn a_home_with_neither_seed_nor_key_is_reported_and_comes_back_when_the_key_does() {
    let (dir, home, made) = home_with("asha").await;
    let persona = PersonaHome::of(&home, &made.id);
    std::fs::remove_file(persona.seed_file()).unwrap();
    std::fs::rename(persona.key_file(), dir.path().join("saved.key")).unwrap();
    let records: Arc<dyn PersonaStore> = Arc::new(InMemoryPersonas::new());
    let roster = Roster::new(home.clone(), Arc::clone(&records));
    let report = roster.resume_all().await.unwrap();
    assert_eq!(
        report.problems,
        vec![(made.id.clone(), PersonaStatus::KeyMissing)]
    );
    assert!(
        records.get(&made.id).await.unwrap().is_none(),
        "not registered without proof"
    );
    assert!(!persona.key_file().exists(), "no key was made");
    std::fs::rename(dir.path().join("saved.key"), persona.key_file()).unwrap();
    let report = roster.resume_all().await.unwrap();
    assert_eq!(report.resumed, 1, "{report:?}");
    assert_eq!(
        roster.live(&made.id).unwrap().public_key(),
        <[u8; 32]>::try_from(hex::decode(&made.public_key).unwrap()).unwrap()
    );
}

#[tokio::test]
async fn a_seed_claiming_owner_trust_is_registered_as_provisional() {
    let (_dir, home, made) = home_with("asha").await;
    let seed = PersonaHome::of(&home, &made.id).seed_file();
    let text = std::fs::read_to_string(&seed)
        .unwrap()
        .replace("\"provisional\"", "\"owner\"");
    std::fs::write(&seed, text).unwrap();
    let roster = Roster::new(home.clone(), Arc::new(InMemoryPersonas::new()));
    roster.resume_all().await.unwrap();
    assert_eq!(roster.live(&made.id).unwrap().trust(), Trust::Provisional);
}
