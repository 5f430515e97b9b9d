//! `cu chat ROOM`: an interactive room. What you type is sent as you
//! (`chat/send`); what arrives is printed as it comes (`chat/history
//! --follow` on a second connection), including persona answers.
//!
//! Lines starting with `/` are client commands: `/quit` (or end of input)
//! leaves, `/help` lists them. Persona messages show the model that answered.

use crate::client::{Client, ClientError};
use continuum_wire::Home;
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};

/// How many earlier messages are shown on entering.
const BACKLOG: u64 = 20;

/// Runs the chat; returns the exit code.
pub(crate) fn run(
    bin: &str,
    home: &Home,
    room: Option<&str>,
    connect: impl Fn() -> Result<Client, ClientError>,
    report: impl Fn(&ClientError) -> u8,
) -> u8 {
    let Some(room) = room.filter(|room| !room.starts_with('-')) else {
        eprintln!(
            "usage: {bin} chat ROOM   (room/list shows the rooms; room/create --name R makes one)"
        );
        return crate::exit::USAGE;
    };
    // Read the backlog first: an unknown room or a stopped daemon is
    // reported before anything else happens.
    let backlog = connect().and_then(|mut client| {
        client.call("chat/history", json!({"room": room, "limit": BACKLOG}))
    });
    let backlog = match backlog {
        Ok(backlog) => backlog,
        Err(err) => return report(&err),
    };
    let tty = std::io::stdin().is_terminal();
    if tty {
        eprintln!(
            "{bin} chat: in room '{room}' (home {}). Type a message; @name addresses a persona; /quit leaves.",
            home.root().display()
        );
    }
    for message in backlog["messages"].as_array().into_iter().flatten() {
        print_message(message);
    }
    let cursor = backlog["cursor"].as_u64().unwrap_or(0);
    let mut follower = match connect() {
        Ok(client) => client,
        Err(err) => return report(&err),
    };
    let followed_room = room.to_owned();
    std::thread::spawn(move || {
        let params = json!({"room": followed_room, "after": cursor, "follow": true});
        let ended = follower.call_streaming("chat/history", params, None, |event| {
            if let Some(message) = event.get("message") {
                print_message(message);
            }
        });
        if let Err(err) = ended {
            eprintln!("chat: no longer receiving messages: {err}");
        }
    });

    let mut sender = match connect() {
        Ok(client) => client,
        Err(err) => return report(&err),
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let text = line.trim();
        match text {
            "" => continue,
            "/quit" | "/exit" => break,
            "/help" => {
                eprintln!(
                    "/quit leaves; anything else is sent to the room (@name addresses a persona)"
                );
                continue;
            }
            _ => {}
        }
        if let Err(err) = sender.call("chat/send", json!({"room": room, "text": text})) {
            let code = report(&err);
            if !matches!(err, ClientError::Rpc(_)) {
                return code;
            }
        }
    }
    crate::exit::OK
}

/// `text` safe to print on one terminal line: control characters (escape
/// sequences, newlines that could forge a line from someone else) become
/// visible `\u{..}` escapes.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One message as a line: `[HH:MM:SS] author: text`, with the model after
/// a persona's name.
fn print_message(message: &Value) {
    let at = message["atMs"].as_u64().unwrap_or(0) / 1000;
    let (h, m, s) = ((at / 3600) % 24, (at / 60) % 60, at % 60);
    let author = message["author"]["name"].as_str().unwrap_or("?");
    let model = message["persona"]["model"]
        .as_str()
        .map(|model| format!(" ({model})"))
        .unwrap_or_default();
    let (author, text) = (
        printable(author),
        printable(message["text"].as_str().unwrap_or("")),
    );
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[{h:02}:{m:02}:{s:02}] {author}{model}: {text}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let forged = "hi\n[12:00:00] owner: rm -rf\u{1b}[2J";
        let shown = printable(forged);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.starts_with("hi\\u{a}[12:00:00]"), "{shown}");
        assert_eq!(printable("héllo @asha"), "héllo @asha");
    }
}
