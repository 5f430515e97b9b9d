//! Who answers a message. Pure rules, so they are tested without a model.
//!
//! - Nobody answers their own message.
//! - A message from a persona is answered only by the personas it addresses
//!   (`@name`): personas never chat among themselves unprompted.
//! - A message from a person (owner, peer, client) is answered by the
//!   personas it addresses; if it addresses none and the room has exactly
//!   one persona, that one answers.

use continuum_store::{Author, AuthorKind};

/// A persona in the room, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Persona id.
    pub id: &'a str,
    /// Persona name.
    pub name: &'a str,
}

/// The ids of the members that answer a message from `author` saying `text`.
pub fn responders<'a>(members: &[Member<'a>], author: &Author, text: &str) -> Vec<&'a str> {
    let from_persona = author.kind == AuthorKind::Persona;
    let others: Vec<&Member<'a>> = members
        .iter()
        .filter(|member| !(from_persona && member.id == author.id))
        .collect();
    let addressed: Vec<&'a str> = others
        .iter()
        .filter(|member| mentions(text, member.name))
        .map(|member| member.id)
        .collect();
    if !addressed.is_empty() || from_persona {
        return addressed;
    }
    match others.as_slice() {
        [only] => vec![only.id],
        _ => Vec::new(),
    }
}

/// Whether `text` addresses `name` as `@name` (without case; the name must
/// end there, so `@ash` does not address `asha`).
pub fn mentions(text: &str, name: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices('@').any(|(at, _)| {
        let rest = &text[at + 1..];
        rest.get(..name.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name))
            && !rest[name.len()..].starts_with(name_char)
            && !text[..at].ends_with(name_char)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author(kind: AuthorKind, id: &str) -> Author {
        Author {
            kind,
            id: id.into(),
            name: id.into(),
        }
    }

    const ASHA: Member<'static> = Member {
        id: "a",
        name: "asha",
    };
    const BODHI: Member<'static> = Member {
        id: "b",
        name: "Bodhi",
    };

    #[test]
    fn mentions_need_the_whole_name_and_ignore_case() {
        assert!(mentions("@asha hi", "asha"));
        assert!(mentions("hi @ASHA.", "asha"));
        assert!(mentions("(@asha)", "asha"));
        assert!(!mentions("@ash hi", "asha"));
        assert!(!mentions("@ashaX", "asha"));
        assert!(!mentions("asha", "asha"));
        assert!(!mentions("mail me@asha", "asha"));
        assert!(!mentions("@", "asha"));
        assert!(mentions("@é @asha", "asha"));
    }

    #[test]
    fn a_person_is_answered_by_the_addressed_or_the_only_persona() {
        let owner = author(AuthorKind::Owner, "owner");
        assert_eq!(responders(&[ASHA], &owner, "hello"), vec!["a"]);
        assert_eq!(
            responders(&[ASHA, BODHI], &owner, "hello"),
            Vec::<&str>::new()
        );
        assert_eq!(responders(&[ASHA, BODHI], &owner, "@bodhi hi"), vec!["b"]);
        assert_eq!(
            responders(&[ASHA, BODHI], &owner, "@bodhi @asha hi"),
            vec!["a", "b"]
        );
        assert_eq!(responders(&[], &owner, "hello"), Vec::<&str>::new());
    }

    #[test]
    fn a_persona_is_answered_only_when_it_addresses_someone_and_never_by_itself() {
        let asha = author(AuthorKind::Persona, "a");
        assert_eq!(
            responders(&[ASHA, BODHI], &asha, "hello"),
            Vec::<&str>::new()
        );
        assert_eq!(responders(&[ASHA, BODHI], &asha, "@asha @bodhi"), vec!["b"]);
        // Alone with one other persona, unaddressed: still silence.
        assert_eq!(
            responders(&[ASHA, BODHI], &asha, "anyone?"),
            Vec::<&str>::new()
        );
        assert_eq!(responders(&[ASHA], &asha, "@asha"), Vec::<&str>::new());
    }
}
