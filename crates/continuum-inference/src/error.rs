//! Errors of an inference call, each naming the provider and what to do.
//!
//! Messages never contain credentials: bodies are excerpted and scrubbed of
//! the provider's key before they are stored here.

use std::time::Duration;

use crate::config::ConfigError;

/// Why a generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InferenceError {
    /// The server answered with an error status.
    #[error("provider '{provider}' answered HTTP {status}: {hint} (body: {body_excerpt})")]
    Http {
        /// Provider name.
        provider: String,
        /// HTTP status code.
        status: u16,
        /// The start of the response body, key scrubbed.
        body_excerpt: String,
        /// What to do about it.
        hint: String,
    },

    /// HTTP 429 on every attempt (or a `Retry-After` longer than we wait).
    #[error(
        "provider '{provider}' is rate-limiting requests (HTTP 429 after {attempts} attempt(s)){}: slow down or raise the plan's limit",
        retry_after.map(|d| format!("; it asks to retry after {}s", d.as_secs())).unwrap_or_default()
    )]
    RateLimited {
        /// Provider name.
        provider: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// Attempts made.
        attempts: u32,
    },

    /// No answer in time.
    #[error("provider '{provider}' ({endpoint}) did not answer within {}s: the model may be loading or overloaded; raise timeout_secs in providers.toml or try again", after.as_secs_f32())]
    Timeout {
        /// Provider name.
        provider: String,
        /// Base URL.
        endpoint: String,
        /// The timeout that expired.
        after: Duration,
    },

    /// The connection could not be made.
    #[error("provider '{provider}' ({endpoint}) refused the connection: is the server running? ({detail})")]
    Connect {
        /// Provider name.
        provider: String,
        /// Base URL.
        endpoint: String,
        /// The transport's description.
        detail: String,
    },

    /// The response was not what the wire format promises.
    #[error("provider '{provider}' sent a response that could not be decoded ({detail}): is base_url pointing at the right API?")]
    Decode {
        /// Provider name.
        provider: String,
        /// What was wrong.
        detail: String,
    },

    /// The provider reported an error inside a successful response or stream.
    #[error("provider '{provider}' reported an error: {message}")]
    Provider {
        /// Provider name.
        provider: String,
        /// Its message.
        message: String,
    },

    /// The stream ended before the provider said it was done.
    #[error("provider '{provider}' stream ended before the answer was complete ({detail}); the partial answer was discarded, try again")]
    StreamDropped {
        /// Provider name.
        provider: String,
        /// What happened.
        detail: String,
    },

    /// The provider needs a credential that is not available.
    #[error("provider '{provider}' needs the credential '{credential}', which is not set: export {credential} (an environment variable), or store it with cu vault/put (a vault:SERVICE/NAME item)")]
    MissingCredential {
        /// Provider name.
        provider: String,
        /// The credential's name (never its value).
        credential: String,
    },

    /// The credential exists but was not released for this request (out
    /// of the caller's wallets, or its release could not be audited).
    #[error("provider '{provider}': the credential '{credential}' was not released: {reason}")]
    CredentialRefused {
        /// Provider name.
        provider: String,
        /// The credential's name (never its value).
        credential: String,
        /// Why.
        reason: String,
    },

    /// The egress policy does not let this provider reach its host.
    #[error("provider '{provider}' may not connect to {host}: the egress policy refuses it (add the host to [egress] in config.toml)")]
    EgressDenied {
        /// Provider name.
        provider: String,
        /// The refused host.
        host: String,
    },

    /// No provider with that name is configured.
    #[error("no provider named '{name}' in providers.toml (configured: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownProvider {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },

    /// The request cannot be served as configured.
    #[error("provider '{provider}': {message}")]
    InvalidRequest {
        /// Provider name.
        provider: String,
        /// What is wrong with it.
        message: String,
    },

    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl InferenceError {
    /// The provider the error is about, when there is one.
    pub fn provider(&self) -> Option<&str> {
        match self {
            InferenceError::Http { provider, .. }
            | InferenceError::RateLimited { provider, .. }
            | InferenceError::Timeout { provider, .. }
            | InferenceError::Connect { provider, .. }
            | InferenceError::Decode { provider, .. }
            | InferenceError::Provider { provider, .. }
            | InferenceError::StreamDropped { provider, .. }
            | InferenceError::MissingCredential { provider, .. }
            | InferenceError::CredentialRefused { provider, .. }
            | InferenceError::EgressDenied { provider, .. }
            | InferenceError::InvalidRequest { provider, .. } => Some(provider),
            InferenceError::UnknownProvider { .. } | InferenceError::Config(_) => None,
        }
    }
}

/// What to do about an HTTP error status, for the error message.
pub(crate) fn status_hint(status: u16, credential: Option<&str>, base_url: &str) -> String {
    match status {
        400 | 422 => {
            "the provider rejected the request: check the model name and parameters".into()
        }
        401 => match credential {
            Some(name) => format!("the key was rejected: check the credential '{name}'"),
            None => {
                "the provider wants a key: set `credential` for this provider in providers.toml"
                    .into()
            }
        },
        403 => "the key is not allowed to use this model or endpoint".into(),
        404 => format!("nothing at this path: check base_url ({base_url}) and the model name"),
        408 | 504 => "the provider timed out: try again or use a smaller request".into(),
        413 => "the request is too large: shorten the conversation".into(),
        429 => "rate-limited: slow down".into(),
        500..=599 => "the provider failed on its side (retries exhausted): try again later".into(),
        _ => "unexpected status".into(),
    }
}

/// The first 300 characters of a body, with `secret` removed.
pub(crate) fn body_excerpt(body: &str, secret: Option<&str>) -> String {
    let scrubbed = match secret {
        Some(s) if !s.is_empty() => body.replace(s, "[redacted]"),
        _ => body.to_owned(),
    };
    let mut out: String = scrubbed.trim().chars().take(300).collect();
    if scrubbed.trim().chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_error_says_which_provider_and_what_to_check() {
        let e = InferenceError::Connect {
            provider: "local".into(),
            endpoint: "http://127.0.0.1:8080".into(),
            detail: "connection refused".into(),
        };
        assert!(e
            .to_string()
            .starts_with("provider 'local' (http://127.0.0.1:8080) refused the connection: is the server running?"));
    }

    #[test]
    fn body_excerpt_scrubs_the_key_and_truncates() {
        let body = format!("bad key sk-123 {}", "x".repeat(400));
        let excerpt = body_excerpt(&body, Some("sk-123"));
        assert!(!excerpt.contains("sk-123"));
        assert!(excerpt.contains("[redacted]"));
        assert_eq!(excerpt.chars().count(), 301);
    }

    #[test]
    fn unauthorized_hint_names_the_credential() {
        assert!(status_hint(401, Some("GROQ_API_KEY"), "u").contains("GROQ_API_KEY"));
        assert!(status_hint(401, None, "u").contains("credential"));
    }
}
