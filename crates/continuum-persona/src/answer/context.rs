//! The prompt a persona answers from: its system prompt, what it recalls,
//! and as much recent room history as fits a token budget. Pure.

use continuum_inference::Message;
use continuum_store::{AuthorKind, ChatMessage, Recalled};

/// Tokens assumed per message for role markers and the author prefix.
const PER_MESSAGE_TOKENS: usize = 4;

/// A rough token count (4 bytes per token): the budget is a guard against
/// overlong prompts, not an exact fit.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// What the prompt is built from.
pub struct ContextInput<'a> {
    /// The answering persona's id.
    pub persona_id: &'a str,
    /// Its name.
    pub persona_name: &'a str,
    /// Its system prompt.
    pub system_prompt: &'a str,
    /// The room's name.
    pub room_name: &'a str,
    /// Recent messages, oldest first, ending with the one being answered.
    pub history: &'a [ChatMessage],
    /// Memories recalled for the message, best first.
    pub memories: &'a [Recalled],
    /// Most tokens the history may take.
    pub history_tokens: usize,
}

/// The messages sent to the model: one system message, then the newest
/// history that fits the budget (the message being answered always does).
/// The persona's own messages are the assistant's turns; everyone else's are
/// user turns prefixed with the author's name.
pub fn build_messages(input: &ContextInput<'_>) -> Vec<Message> {
    let mut system = String::new();
    if !input.system_prompt.trim().is_empty() {
        system.push_str(input.system_prompt.trim());
        system.push_str("\n\n");
    }
    system.push_str(&format!(
        "You are {}, in the chat room '{}'. Each message starts with its author's name. Answer the last message briefly, in your own voice, without your name as a prefix.",
        input.persona_name, input.room_name
    ));
    if !input.memories.is_empty() {
        system.push_str("\n\nThings you remember:");
        for recalled in input.memories {
            system.push_str("\n- ");
            system.push_str(recalled.memory.text.trim());
        }
    }
    let mut budget = input.history_tokens;
    let mut turns = Vec::new();
    for (index, message) in input.history.iter().enumerate().rev() {
        // Only the persona's own posts are its turns: a peer may claim any
        // id, but not the persona kind.
        let own =
            message.author.kind == AuthorKind::Persona && message.author.id == input.persona_id;
        let turn = if own {
            Message::assistant(message.text.clone())
        } else {
            Message::user(format!("{}: {}", message.author.name, message.text))
        };
        let cost = estimate_tokens(&turn.content) + PER_MESSAGE_TOKENS;
        let last = index + 1 == input.history.len();
        if cost > budget && !last {
            break;
        }
        budget = budget.saturating_sub(cost);
        turns.push(turn);
    }
    turns.reverse();
    let mut messages = Vec::with_capacity(turns.len() + 1);
    messages.push(Message::system(system));
    messages.extend(turns);
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_inference::Role;
    use continuum_store::{Author, Memory};

    fn message(id: u64, author: &str, kind: AuthorKind, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            room_id: "r".into(),
            author: Author {
                kind,
                id: author.into(),
                name: author.into(),
            },
            text: text.into(),
            hop: 0,
            reply_to: None,
            persona: None,
            at_ms: id,
        }
    }

    fn input<'a>(
        history: &'a [ChatMessage],
        memories: &'a [Recalled],
        tokens: usize,
    ) -> ContextInput<'a> {
        ContextInput {
            persona_id: "asha",
            persona_name: "asha",
            system_prompt: "Be kind.",
            room_name: "lobby",
            history,
            memories,
            history_tokens: tokens,
        }
    }

    #[test]
    fn the_prompt_has_the_system_prompt_memories_and_roles_by_author() {
        let history = [
            message(1, "owner", AuthorKind::Owner, "hi"),
            message(2, "asha", AuthorKind::Persona, "hello"),
            message(
                3,
                "owner",
                AuthorKind::Owner,
                "@asha what is my cat called?",
            ),
        ];
        let memories = [Recalled {
            memory: Memory {
                id: "m".into(),
                persona_id: "asha".into(),
                text: "The owner's cat is Miso.".into(),
                tags: vec![],
                created_at_ms: 0,
            },
            score: 1.0,
        }];
        let messages = build_messages(&input(&history, &memories, 1000));
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[0].role, Role::System);
        assert!(messages[0].content.starts_with("Be kind."));
        assert!(messages[0].content.contains("You are asha"));
        assert!(messages[0].content.contains("- The owner's cat is Miso."));
        assert_eq!(messages[1].content, "owner: hi");
        assert_eq!(messages[2].role, Role::Assistant);
        assert_eq!(messages[2].content, "hello");
        assert_eq!(messages[3].role, Role::User);
        assert_eq!(messages[3].content, "owner: @asha what is my cat called?");
    }

    #[test]
    fn the_budget_keeps_the_newest_history_and_always_the_message_answered() {
        let long = "x".repeat(400);
        let history: Vec<ChatMessage> = (1..=50)
            .map(|id| message(id, "owner", AuthorKind::Owner, &long))
            .collect();
        let messages = build_messages(&input(&history, &[], 350));
        // 104 tokens per turn: three fit in 350.
        assert_eq!(messages.len(), 1 + 3);
        let tiny = build_messages(&input(&history, &[], 0));
        assert_eq!(tiny.len(), 2, "the message answered is always there");
    }
}
