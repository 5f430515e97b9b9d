//! JSON-RPC 2.0 frames. One JSON document per line, UTF-8, `\n`-terminated.

use crate::error::RpcError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only protocol version spoken.
pub const JSONRPC_VERSION: &str = "2.0";

/// Method name of the notifications a streaming command sends before its result.
pub const STREAM_METHOD: &str = "$/stream";

/// A request id: JSON-RPC allows numbers and strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// A numeric id.
    Number(i64),
    /// A string id.
    String(String),
}

/// Optional, Continuum-specific request metadata (an extension member).
///
/// `forwardedFor` says on whose behalf the call is made. It is recorded and
/// audited but never authorizes anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMeta {
    /// On whose behalf this call is made (audit only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// A signed capability grant (base64url text) presented with this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The most trust this call may use. It can only lower the caller's
    /// trust, never raise it: a client acting for an agent sets it so the
    /// agent gets no more than it should.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trust: Option<crate::Trust>,
    /// Act as this persona (name or id). Honoured only for the owner on the
    /// Unix socket, who may give power away: the call then has the
    /// persona's trust (never Owner) and reaches its memories, and is
    /// audited as `persona:<id>`. Refused (`owner_only`) anywhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_persona: Option<String>,
}

/// A client request. `id` absent means a notification (no answer is sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// Request id; absent for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// The command name.
    pub method: String,
    /// Params object (absent means `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// Continuum extension: call metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
}

impl Request {
    /// A request with a numeric id.
    pub fn new(id: i64, method: impl Into<String>, params: Value) -> Self {
        Request {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id: Some(Id::Number(id)),
            method: method.into(),
            params: Some(params),
            meta: None,
        }
    }
}

/// A response: exactly one of `result` / `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// The request's id; `null` when it could not be read.
    pub id: Option<Id>,
    /// Success value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A success response.
    pub fn ok(id: Option<Id>, result: Value) -> Self {
        Response {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// An error response.
    pub fn err(id: Option<Id>, error: RpcError) -> Self {
        Response {
            jsonrpc: JSONRPC_VERSION.to_owned(),
            id,
            result: None,
            error: Some(error),
        }
    }

    /// The result, or the error.
    pub fn into_result(self) -> Result<Value, RpcError> {
        match (self.result, self.error) {
            (_, Some(err)) => Err(err),
            (Some(value), None) => Ok(value),
            (None, None) => Ok(Value::Null),
        }
    }
}

/// Params of a `$/stream` notification: an event tied to a request in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamNotification {
    /// The id of the request this event belongs to.
    pub request_id: Id,
    /// Command-defined event payload.
    pub event: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trips_with_meta() {
        let mut req = Request::new(7, "ping", json!({"message": "hi"}));
        req.meta = Some(RequestMeta {
            forwarded_for: Some("alice".into()),
            grant: None,
            max_trust: Some(crate::Trust::Provisional),
            as_persona: None,
        });
        let text = serde_json::to_string(&req).unwrap();
        assert!(text.contains("\"forwardedFor\":\"alice\""));
        assert!(text.contains("\"maxTrust\":\"provisional\""));
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), req);
    }

    #[test]
    fn error_response_has_no_result_member() {
        let resp = Response::err(
            Some(Id::Number(1)),
            RpcError::new(crate::ErrorCode::Internal, "x"),
        );
        let text = serde_json::to_string(&resp).unwrap();
        assert!(!text.contains("result"));
        assert!(text.contains("\"kind\":\"internal\""));
    }
}
