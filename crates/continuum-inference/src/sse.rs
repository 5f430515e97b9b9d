//! Incremental Server-Sent Events parser (the subset chat APIs use).
//!
//! Fed raw body bytes as they arrive; yields complete events. Lines end in
//! `\n` or `\r\n`; `data:` lines of one event are joined with `\n`; `event:`
//! names it; comment lines (`:`) and other fields are ignored; a blank line
//! dispatches. At the end of the body, complete lines not yet dispatched are
//! dispatched, and an unterminated last line is dropped (a cut connection).

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
}

/// Parser state between chunks.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    has_data: bool,
}

impl SseParser {
    /// Feeds body bytes; returns the events they completed.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.on_line(&String::from_utf8_lossy(&line), &mut out);
            } else {
                self.line.push(b);
            }
        }
        out
    }

    /// Ends the body: dispatches a last event whose blank line never came.
    pub(crate) fn finish(&mut self) -> Option<SseEvent> {
        self.line.clear();
        self.dispatch()
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            out.extend(self.dispatch());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push(value.to_owned());
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = std::mem::take(&mut self.data);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: data.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(body: &[u8], size: usize) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for chunk in body.chunks(size) {
            out.extend(p.push(chunk));
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_survive_any_chunk_size() {
        let body = b"event: message_start\r\ndata: {\"a\":1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        let expected = vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{\"a\":1}".into(),
            },
            SseEvent {
                event: None,
                data: "x\ny".into(),
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
            },
        ];
        for size in 1..body.len() {
            assert_eq!(parse_in_pieces(body, size), expected, "chunk size {size}");
        }
    }

    #[test]
    fn multibyte_characters_split_across_chunks_survive() {
        let body = "data: {\"t\":\"思考\"}\n\n".as_bytes();
        assert_eq!(parse_in_pieces(body, 1)[0].data, "{\"t\":\"思考\"}");
    }

    #[test]
    fn complete_lines_without_a_blank_line_dispatch_at_the_end() {
        assert_eq!(parse_in_pieces(b"data: [DONE]\n", 4)[0].data, "[DONE]");
    }

    #[test]
    fn an_unterminated_last_line_is_dropped() {
        assert!(parse_in_pieces(b"data: {\"partial", 4).is_empty());
    }
}
