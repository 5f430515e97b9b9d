//! The wire formats of the servers under test. The only thing that differs
//! between them in this harness: everything else is the same client code
//! ([`crate::line::LineClient`]).

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

/// Encodes one ping request and checks the reply. Every protocol here
/// answers with a single `\n`-terminated line, so framing is shared by the
/// caller.
pub trait Codec: Send {
    /// Appends one complete request frame to `out`.
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()>;
    /// Checks that `line` (terminator included) is the reply to the last
    /// request, or a notification the server may send in between.
    fn check_reply(&mut self, line: &[u8]) -> Result<Reply>;
}

/// What a line read after a request turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The checked answer to the last request.
    Answer,
    /// A message the server sent on its own (an MCP notification); the
    /// answer is still to come.
    Notification,
}

/// Which codec to use, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Continuum's JSON-RPC 2.0, one object per line.
    Jsonrpc,
    /// Redis RESP: `*1\r\n$4\r\nPING\r\n` answered by `+PONG\r\n`.
    Resp,
}

impl Protocol {
    /// A fresh codec for one connection.
    pub fn codec(self) -> Box<dyn Codec> {
        match self {
            Protocol::Jsonrpc => Box::new(JsonRpc { next_id: 1 }),
            Protocol::Resp => Box::new(Resp),
        }
    }
}

/// JSON-RPC as a real client does it: a freshly serialized request with an
/// incrementing id, and a fully parsed response whose id is checked.
struct JsonRpc {
    next_id: u64,
}

impl Codec for JsonRpc {
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let request = json!({"jsonrpc": "2.0", "id": self.next_id, "method": "ping"});
        serde_json::to_writer(&mut *out, &request)?;
        out.push(b'\n');
        Ok(())
    }

    fn check_reply(&mut self, line: &[u8]) -> Result<Reply> {
        let reply: Value = serde_json::from_slice(line).context("reply is not JSON")?;
        let expected = self.next_id;
        self.next_id += 1;
        ensure!(
            reply["id"].as_u64() == Some(expected),
            "reply id {} does not match request id {expected}",
            reply["id"]
        );
        if reply["result"]["pong"] != Value::Bool(true) {
            bail!("not a pong: {reply}");
        }
        Ok(Reply::Answer)
    }
}

/// RESP PING, sent as an array of bulk strings like `redis-cli` does.
struct Resp;

impl Codec for Resp {
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        Ok(())
    }

    fn check_reply(&mut self, line: &[u8]) -> Result<Reply> {
        let Some(simple) = line.strip_prefix(b"+") else {
            bail!(
                "not a simple-string reply: {}",
                String::from_utf8_lossy(line)
            );
        };
        ensure!(
            simple.strip_suffix(b"\r\n") == Some(b"PONG".as_slice()),
            "not PONG: {}",
            String::from_utf8_lossy(line)
        );
        Ok(Reply::Answer)
    }
}

/// The MCP protocol era a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Era {
    /// Before 2026-07-28 (here 2025-11-25): `initialize`, then
    /// `notifications/initialized`; requests carry no client context.
    #[value(name = "legacy")]
    Legacy,
    /// 2026-07-28: no handshake; every request carries the protocol
    /// version, the client's info and its capabilities in `_meta`.
    #[value(name = "2026-07-28")]
    Stateless,
}

impl Era {
    /// The protocol version a client of this era asks for.
    pub fn protocol_version(self) -> &'static str {
        match self {
            Era::Legacy => "2025-11-25",
            Era::Stateless => "2026-07-28",
        }
    }

    /// The era's name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::Stateless => "2026-07-28",
        }
    }

    /// The `_meta` each request of this era carries, if any.
    pub fn request_meta(self, client_info: &Value) -> Option<Value> {
        match self {
            Era::Legacy => None,
            Era::Stateless => Some(json!({
                "io.modelcontextprotocol/protocolVersion": self.protocol_version(),
                "io.modelcontextprotocol/clientInfo": client_info,
                "io.modelcontextprotocol/clientCapabilities": {},
            })),
        }
    }
}

/// MCP `tools/call` of the `ping` tool, as a client does it: a freshly
/// serialized request with an incrementing id (and the era's `_meta`), and a
/// fully parsed result whose id is checked, which must not be an error and
/// must hold the pong. Notifications from the server in between are skipped.
pub struct McpPing {
    meta: Option<Value>,
    next_id: u64,
}

impl McpPing {
    /// A codec for a session of `era`, as `client_info`, whose first call
    /// has id `first_id`.
    pub fn new(era: Era, client_info: &Value, first_id: u64) -> McpPing {
        McpPing {
            meta: era.request_meta(client_info),
            next_id: first_id,
        }
    }
}

impl Codec for McpPing {
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut params = json!({"name": "ping", "arguments": {}});
        if let Some(meta) = &self.meta {
            params["_meta"] = meta.clone();
        }
        let request = json!({
            "jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": params,
        });
        serde_json::to_writer(&mut *out, &request)?;
        out.push(b'\n');
        Ok(())
    }

    fn check_reply(&mut self, line: &[u8]) -> Result<Reply> {
        let reply: Value = serde_json::from_slice(line).context("reply is not JSON")?;
        if reply.get("method").is_some() {
            ensure!(
                reply.get("id").is_none(),
                "the server sent a request mid-call: {reply}"
            );
            return Ok(Reply::Notification);
        }
        let expected = self.next_id;
        self.next_id += 1;
        ensure!(
            reply["id"].as_u64() == Some(expected),
            "reply id {} does not match request id {expected}",
            reply["id"]
        );
        let result = &reply["result"];
        if result.is_null() || result["isError"] == Value::Bool(true) {
            bail!("tools/call ping failed: {reply}");
        }
        // The pong is in `structuredContent`, or in the text content when
        // the tool has no output schema.
        let pong = result["structuredContent"]["pong"] == Value::Bool(true)
            || result["content"][0]["text"]
                .as_str()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .is_some_and(|text| text["pong"] == Value::Bool(true));
        ensure!(pong, "not a pong: {reply}");
        Ok(Reply::Answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonrpc_requests_carry_incrementing_ids_and_replies_must_match_them() {
        let mut codec = Protocol::Jsonrpc.codec();
        let mut buf = Vec::new();
        codec.encode_ping(&mut buf).unwrap();
        assert_eq!(buf, b"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n");
        codec
            .check_reply(
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pong\":true,\"serverTimeMs\":5}}\n",
            )
            .unwrap();
        buf.clear();
        codec.encode_ping(&mut buf).unwrap();
        assert!(buf.starts_with(b"{\"id\":2,"));
        assert!(codec
            .check_reply(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pong\":true}}\n")
            .is_err());
    }

    #[test]
    fn jsonrpc_error_reply_is_rejected() {
        let mut codec = Protocol::Jsonrpc.codec();
        codec.encode_ping(&mut Vec::new()).unwrap();
        let reply =
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"x\"}}\n";
        assert!(codec.check_reply(reply).is_err());
    }

    #[test]
    fn resp_accepts_only_pong() {
        let mut codec = Protocol::Resp.codec();
        let mut buf = Vec::new();
        codec.encode_ping(&mut buf).unwrap();
        assert_eq!(buf, b"*1\r\n$4\r\nPING\r\n");
        codec.check_reply(b"+PONG\r\n").unwrap();
        assert!(codec.check_reply(b"-ERR nope\r\n").is_err());
        assert!(codec.check_reply(b"+PONGX\r\n").is_err());
    }

    #[test]
    fn mcp_calls_carry_the_eras_meta_and_skip_notifications() {
        let client = json!({"name": "bench", "version": "1"});
        let mut legacy = McpPing::new(Era::Legacy, &client, 1);
        let mut buf = Vec::new();
        legacy.encode_ping(&mut buf).unwrap();
        let request: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(request["method"], "tools/call");
        assert_eq!(request["params"]["name"], "ping");
        assert!(request["params"].get("_meta").is_none());

        let mut modern = McpPing::new(Era::Stateless, &client, 7);
        buf.clear();
        modern.encode_ping(&mut buf).unwrap();
        let request: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(request["id"], 7);
        let meta = &request["params"]["_meta"];
        assert_eq!(
            meta["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(meta["io.modelcontextprotocol/clientInfo"], client);
        assert_eq!(
            meta["io.modelcontextprotocol/clientCapabilities"],
            json!({})
        );

        let note = br#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
        assert_eq!(modern.check_reply(note).unwrap(), Reply::Notification);
        let answer = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[],"structuredContent":{"pong":true}}}"#;
        assert_eq!(modern.check_reply(answer).unwrap(), Reply::Answer);
    }

    #[test]
    fn mcp_errors_and_wrong_ids_are_rejected() {
        let client = json!({"name": "bench", "version": "1"});
        let mut codec = McpPing::new(Era::Legacy, &client, 1);
        let tool_error = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"isError":true}}"#;
        assert!(codec.check_reply(tool_error).is_err());
        let wrong_id = br#"{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"pong":true}}}"#;
        assert!(codec.check_reply(wrong_id).is_err());
        let text = br#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"{\"pong\":true}"}]}}"#;
        assert_eq!(codec.check_reply(text).unwrap(), Reply::Answer);
    }
}
