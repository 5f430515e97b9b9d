//! The wire formats of the servers under test. The only thing that differs
//! between them in this harness: everything else is the same client code.

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

/// Encodes one ping request and checks the reply. Both protocols answer with
/// a single `\n`-terminated line, so framing is shared by the caller.
pub(crate) trait Codec: Send {
    /// Appends one complete request frame to `out`.
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()>;
    /// Checks that `line` (terminator included) is the reply to the last request.
    fn check_reply(&mut self, line: &[u8]) -> Result<()>;
}

/// Which codec to use, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Protocol {
    /// Continuum's JSON-RPC 2.0, one object per line.
    Jsonrpc,
    /// Redis RESP: `*1\r\n$4\r\nPING\r\n` answered by `+PONG\r\n`.
    Resp,
}

impl Protocol {
    /// A fresh codec for one connection.
    pub(crate) fn codec(self) -> Box<dyn Codec> {
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

    fn check_reply(&mut self, line: &[u8]) -> Result<()> {
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
        Ok(())
    }
}

/// RESP PING, sent as an array of bulk strings like `redis-cli` does.
struct Resp;

impl Codec for Resp {
    fn encode_ping(&mut self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        Ok(())
    }

    fn check_reply(&mut self, line: &[u8]) -> Result<()> {
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
        Ok(())
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
}
