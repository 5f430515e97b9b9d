//! One log line per event. Untrusted text reaches log fields (a peer's
//! claimed id, the reason a handshake proof failed to parse, which quotes
//! the proof); a newline or an escape sequence in it must not forge a line
//! or rewrite a terminal. Every event is escaped once, here, where it is
//! written, so no call site can forget.

use std::io::{self, Write};

/// Writes each formatted event with its control characters escaped (`\n`,
/// `\r`, `\x1b`, ...), keeping only the event's own final newline.
pub(crate) struct OneLinePerEvent<W>(pub(crate) W);

impl<W: Write> Write for OneLinePerEvent<W> {
    fn write(&mut self, event: &[u8]) -> io::Result<usize> {
        let (body, newline) = match event.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (event, false),
        };
        self.0.write_all(&escape(body, newline))?;
        Ok(event.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn escape(body: &[u8], newline: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    for &byte in body {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b'\t'),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
            _ => out.push(byte),
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_line_stays_inside_its_event() {
        let mut log = OneLinePerEvent(Vec::new());
        log.write_all(
            b"INFO refused: unknown field `x\n2026-01-01T00:00:00Z INFO owner ok\x1b[2J`\n",
        )
        .unwrap();
        let text = String::from_utf8(log.0).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(text.ends_with("\\x1b[2J`\n"), "{text:?}");
        assert!(text.contains("`x\\n2026"), "{text:?}");
    }
}
