//! Provider configuration: `providers.toml` in the daemon home, parsed and
//! validated into typed config, and the credentials the providers name.
//!
//! ```toml
//! default_provider = "local"           # used when a request names none
//!
//! [providers.local]
//! kind = "openai"                      # or "anthropic"
//! base_url = "http://127.0.0.1:8080/v1"
//! model = "smollm2"
//! thinking = "default"                 # default | suppress | on
//! credential = "OPENROUTER_API_KEY"    # the NAME of a credential, never the key:
//!                                      # an environment variable, or a vault
//!                                      # item "vault:openrouter/default"
//! timeout_secs = 60
//! ```
//!
//! Optional fields and their defaults: `thinking_control = "auto"` (OpenAI
//! kind; `auto | soft-switch | template-kwargs | none`, see
//! [`crate::thinking`]), `template_opens_think` (OpenAI kind; `true`: the
//! chat template opens `<think>` in the prompt, `false`: it never does; unset:
//! decided by the model name, see [`LoneClose::for_model`]: known families
//! hold streamed text back until the first tag, others stream live and still
//! split the final answer), `thinking_budget_tokens = 1024`
//! (Anthropic, thinking `on`), `max_tokens` (Anthropic: 4096),
//! `anthropic_version = "2023-06-01"`, `connect_timeout_secs = 10`,
//! `read_timeout_secs` (silence allowed mid-stream; defaults to
//! `timeout_secs`, itself 120), `max_attempts = 3`,
//! `retry_base_delay_ms = 500`, `retry_max_delay_ms = 8000`. For Anthropic
//! `base_url` defaults to `https://api.anthropic.com`.
//!
//! `default_provider` is optional; without it a file with exactly one
//! provider makes that one the default, and with several a request must name
//! its provider.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reasoning::LoneClose;
use crate::retry::RetryPolicy;
use crate::thinking::{ThinkingControl, ThinkingMode};

/// The file name of the provider configuration in the daemon home.
pub const PROVIDERS_FILE: &str = "providers.toml";

/// Which wire protocol a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (llama.cpp, Ollama, vLLM,
    /// OpenRouter, Groq, OpenAI).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl ProviderKind {
    /// The spelling used in `providers.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential value. Debug and Display print `[redacted]`; only
/// [`Secret::expose`] gives the value, at the one place a header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    /// Wraps a credential value (zeroed when dropped).
    pub fn new(value: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(value.into()))
    }

    /// The value, for building the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// On whose behalf a request uses a credential: the audit label and the
/// wallet a release is checked against (`None`: the owner, any wallet). Set
/// by the daemon from the proven caller, never from a client's params.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialActor {
    /// Audit label: `owner`, `persona:<id>`, ...
    pub label: String,
    /// The wallet its releases stay within; `None` for the owner.
    pub wallet: Option<String>,
}

/// Prefix of a credential name that names a vault item (`vault:SERVICE/NAME`).
pub const VAULT_PREFIX: &str = "vault:";

/// Where credentials come from, by name. Resolved for each request, at the
/// time of the request (never once at boot), so the plaintext lives only
/// as long as the request that uses it.
pub trait CredentialSource: Send + Sync {
    /// The credential called `name`, for one request to `provider` made for
    /// `actor`; `Ok(None)` when it is not set, `Err(why)` when it is
    /// refused (out of the actor's wallets, the release not audited).
    fn resolve<'a>(
        &'a self,
        name: &'a str,
        provider: &'a str,
        actor: Option<&'a CredentialActor>,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Secret>, String>>;

    /// Whether `name` is set, when that is known without releasing it (an
    /// environment variable); `None` when only a request can tell (a vault
    /// item, whose release is audited).
    fn present(&self, name: &str) -> Option<bool> {
        let _ = name;
        None
    }
}

/// Credentials from environment variables named like the credential (for
/// development); vault names are never set here.
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvCredentials;

impl EnvCredentials {
    fn read(name: &str) -> Option<Secret> {
        if name.starts_with(VAULT_PREFIX) {
            return None;
        }
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(Secret::new)
    }
}

impl CredentialSource for EnvCredentials {
    fn resolve<'a>(
        &'a self,
        name: &'a str,
        _provider: &'a str,
        _actor: Option<&'a CredentialActor>,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Secret>, String>> {
        Box::pin(std::future::ready(Ok(Self::read(name))))
    }

    fn present(&self, name: &str) -> Option<bool> {
        (!name.starts_with(VAULT_PREFIX)).then(|| Self::read(name).is_some())
    }
}

/// The same key for every credential name, or none: for tests and for
/// embedding an adapter without a vault.
pub struct FixedCredential(Option<String>);

impl FixedCredential {
    /// A source answering `key` (or nothing) for every name.
    pub fn shared(key: Option<&str>) -> std::sync::Arc<dyn CredentialSource> {
        std::sync::Arc::new(FixedCredential(key.map(str::to_owned)))
    }
}

impl CredentialSource for FixedCredential {
    fn resolve<'a>(
        &'a self,
        _name: &'a str,
        _provider: &'a str,
        _actor: Option<&'a CredentialActor>,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Secret>, String>> {
        Box::pin(std::future::ready(Ok(self.0.as_deref().map(Secret::new))))
    }

    fn present(&self, _name: &str) -> Option<bool> {
        Some(self.0.is_some())
    }
}

/// One validated provider entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    /// The table name, `[providers.NAME]`.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL without a trailing slash (OpenAI kind: up to and including
    /// `/v1`; Anthropic: the host, `/v1/messages` is appended).
    pub base_url: String,
    /// Model used when a request names none.
    pub model: String,
    /// Thinking mode used when neither request nor environment sets one.
    pub thinking: ThinkingMode,
    /// How the thinking mode is sent (OpenAI kind).
    pub thinking_control: ThinkingControl,
    /// Thinking budget when thinking is on (Anthropic).
    pub thinking_budget_tokens: u32,
    /// How a stray `</think>` is read; `None`: by the model name
    /// ([`LoneClose::for_model`]).
    pub lone_close: Option<LoneClose>,
    /// Name of the credential holding the key, if the provider needs one.
    pub credential: Option<String>,
    /// Whole-request timeout for non-streaming calls.
    pub timeout: Duration,
    /// Timeout for establishing the connection.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while reading a response.
    pub read_timeout: Duration,
    /// Default `max_tokens` when the request sets none.
    pub max_tokens: Option<u32>,
    /// `anthropic-version` header (Anthropic).
    pub anthropic_version: String,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl ProviderConfig {
    /// A config with defaults for everything but the essentials.
    pub fn new(
        name: impl Into<String>,
        kind: ProviderKind,
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            thinking: ThinkingMode::Default,
            thinking_control: ThinkingControl::Auto,
            thinking_budget_tokens: 1024,
            lone_close: match kind {
                ProviderKind::OpenAi => None,
                // Anthropic sends thinking as blocks, never as tags.
                ProviderKind::Anthropic => Some(LoneClose::Text),
            },
            credential: None,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
            max_tokens: match kind {
                ProviderKind::OpenAi => None,
                ProviderKind::Anthropic => Some(4096),
            },
            anthropic_version: "2023-06-01".into(),
            retry: RetryPolicy::default(),
        }
    }
}

/// All configured providers, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProvidersConfig {
    /// Providers by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `default_provider`: the provider used when a request names none
    /// (validated to be one of `providers`).
    pub default_provider: Option<String>,
}

/// Why `providers.toml` (or the environment) could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file (or `<string>`).
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A required field is absent.
    #[error("provider '{provider}': missing `{field}` in providers.toml")]
    MissingField {
        /// Provider name.
        provider: String,
        /// The field.
        field: &'static str,
    },
    /// `kind` is not a known protocol.
    #[error("provider '{provider}': unknown kind '{kind}': expected \"openai\" or \"anthropic\"")]
    UnknownKind {
        /// Provider name.
        provider: String,
        /// What was written.
        kind: String,
    },
    /// `base_url` is not an http(s) URL.
    #[error("provider '{provider}': base_url {reason}")]
    InvalidUrl {
        /// Provider name.
        provider: String,
        /// What is wrong (quotes the URL unless it embeds credentials).
        reason: String,
    },
    /// A field has an unusable value.
    #[error("provider '{provider}': `{field}` {message}")]
    InvalidValue {
        /// Provider name (or the table name that is wrong).
        provider: String,
        /// The field.
        field: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// An environment override has an unusable value.
    #[error("{var}='{value}' is not valid: expected {expected}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What would be valid.
        expected: &'static str,
    },
    /// `default_provider` names no configured provider.
    #[error("default_provider = '{name}' names no provider in providers.toml (configured: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownDefault {
        /// What was written.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// The HTTP client could not be built.
    #[error("provider '{provider}': cannot build the HTTP client: {message}")]
    HttpClient {
        /// Provider name.
        provider: String,
        /// The builder's message.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    default_provider: Option<String>,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    thinking: Option<String>,
    thinking_control: Option<String>,
    thinking_budget_tokens: Option<u32>,
    template_opens_think: Option<bool>,
    credential: Option<String>,
    timeout_secs: Option<u64>,
    connect_timeout_secs: Option<u64>,
    read_timeout_secs: Option<u64>,
    max_tokens: Option<u32>,
    anthropic_version: Option<String>,
    max_attempts: Option<u32>,
    retry_base_delay_ms: Option<u64>,
    retry_max_delay_ms: Option<u64>,
}

impl ProvidersConfig {
    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_at(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses and validates the text of a `providers.toml`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_at(text, Path::new("providers.toml"))
    }

    fn parse_at(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: parse_message(&e, text),
        })?;
        let mut providers = BTreeMap::new();
        for (name, raw) in raw.providers {
            let config = validate(&name, raw)?;
            providers.insert(name, config);
        }
        if let Some(name) = &raw.default_provider {
            if !providers.contains_key(name) {
                return Err(ConfigError::UnknownDefault {
                    name: name.clone(),
                    known: providers.keys().cloned().collect(),
                });
            }
        }
        Ok(Self {
            providers,
            default_provider: raw.default_provider,
        })
    }
}

/// The parser's message with its position, but without the excerpt of the
/// offending line it normally quotes, and with quoted values hidden: the line
/// may hold a pasted key, and this message reaches logs and callers.
fn parse_message(error: &toml::de::Error, text: &str) -> String {
    let mut message = String::new();
    let mut quoted = false;
    for ch in error.message().trim().chars() {
        match (ch, quoted) {
            ('"', false) => {
                quoted = true;
                message.push_str("[value hidden]");
            }
            ('"', true) => quoted = false,
            (_, true) => {}
            (ch, false) => message.push(ch),
        }
    }
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn validate(name: &str, raw: RawProvider) -> Result<ProviderConfig, ConfigError> {
    let provider = name.to_owned();
    let invalid = |field: &'static str, message: String| ConfigError::InvalidValue {
        provider: provider.clone(),
        field,
        message,
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "name",
            "must be letters, digits, '-' or '_' (it is the table name [providers.NAME])".into(),
        ));
    }
    let kind = match raw.kind.as_deref() {
        None => {
            return Err(ConfigError::MissingField {
                provider,
                field: "kind",
            })
        }
        Some("openai") => ProviderKind::OpenAi,
        Some("anthropic") => ProviderKind::Anthropic,
        Some(other) => {
            return Err(ConfigError::UnknownKind {
                provider,
                kind: other.to_owned(),
            })
        }
    };
    let base_url = match (raw.base_url, kind) {
        (Some(url), _) => validate_url(name, &url)?,
        (None, ProviderKind::Anthropic) => "https://api.anthropic.com".to_owned(),
        (None, ProviderKind::OpenAi) => {
            return Err(ConfigError::MissingField {
                provider,
                field: "base_url",
            })
        }
    };
    let model = match raw.model {
        Some(m) if !m.trim().is_empty() => m,
        _ => {
            return Err(ConfigError::MissingField {
                provider,
                field: "model",
            })
        }
    };
    let mut config = ProviderConfig::new(name, kind, base_url, model);
    if let Some(t) = raw.thinking {
        config.thinking = t.parse().map_err(|_| {
            invalid(
                "thinking",
                format!("is '{t}': expected default, suppress or on"),
            )
        })?;
    }
    if let Some(c) = raw.thinking_control {
        config.thinking_control = match c.as_str() {
            "auto" => ThinkingControl::Auto,
            "soft-switch" => ThinkingControl::SoftSwitch,
            "template-kwargs" => ThinkingControl::TemplateKwargs,
            "none" => ThinkingControl::None,
            _ => {
                return Err(invalid(
                    "thinking_control",
                    format!("is '{c}': expected auto, soft-switch, template-kwargs or none"),
                ))
            }
        };
    }
    if let Some(budget) = raw.thinking_budget_tokens {
        if budget < 1024 {
            return Err(invalid(
                "thinking_budget_tokens",
                format!("is {budget}: Anthropic requires at least 1024"),
            ));
        }
        config.thinking_budget_tokens = budget;
    }
    if let Some(opens) = raw.template_opens_think {
        config.lone_close = Some(if opens {
            LoneClose::Reasoning
        } else {
            LoneClose::Text
        });
    }
    if let Some(cred) = raw.credential {
        // A name, so it can be looked up; a pasted key would fail this and
        // must not be echoed back.
        let label = |part: &str| {
            !part.is_empty()
                && part.len() <= 128
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        };
        let is_name = match cred.strip_prefix(VAULT_PREFIX) {
            Some(item) => item
                .split_once('/')
                .is_some_and(|(service, name)| label(service) && label(name)),
            None => {
                !cred.is_empty()
                    && !cred.starts_with(|c: char| c.is_ascii_digit())
                    && cred.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
        };
        if !is_name {
            return Err(invalid(
                "credential",
                "must be the NAME of the credential (an environment variable like OPENROUTER_API_KEY, or a vault item like vault:openrouter/default), not the key itself".into(),
            ));
        }
        config.credential = Some(cred);
    }
    let secs = |field: &'static str, v: Option<u64>| -> Result<Option<Duration>, ConfigError> {
        match v {
            Some(0) => Err(invalid(field, "must be at least 1".into())),
            Some(s) => Ok(Some(Duration::from_secs(s))),
            None => Ok(None),
        }
    };
    if let Some(t) = secs("timeout_secs", raw.timeout_secs)? {
        config.timeout = t;
        config.read_timeout = t;
    }
    if let Some(t) = secs("connect_timeout_secs", raw.connect_timeout_secs)? {
        config.connect_timeout = t;
    }
    if let Some(t) = secs("read_timeout_secs", raw.read_timeout_secs)? {
        config.read_timeout = t;
    }
    if let Some(m) = raw.max_tokens {
        if m == 0 {
            return Err(invalid("max_tokens", "must be at least 1".into()));
        }
        config.max_tokens = Some(m);
    }
    if let Some(v) = raw.anthropic_version {
        config.anthropic_version = v;
    }
    if let Some(n) = raw.max_attempts {
        if n == 0 {
            return Err(invalid("max_attempts", "must be at least 1".into()));
        }
        config.retry.max_attempts = n;
    }
    if let Some(ms) = raw.retry_base_delay_ms {
        config.retry.base_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = raw.retry_max_delay_ms {
        config.retry.max_delay = Duration::from_millis(ms);
    }
    Ok(config)
}

fn validate_url(provider: &str, url: &str) -> Result<String, ConfigError> {
    let err = |reason: String| ConfigError::InvalidUrl {
        provider: provider.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
        err(format!(
            "'{url}' is not a URL ({e}): expected like http://127.0.0.1:8080/v1"
        ))
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(err(
            "embeds credentials: put the key in a credential and name it with `credential`".into(),
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(err(format!("'{url}' must start with http:// or https://")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(err(format!("'{url}' must not have a query or fragment")));
    }
    Ok(url.trim().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        ProvidersConfig::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn example_file_parses_into_typed_config() {
        let c = ProvidersConfig::parse(
            r#"
            [providers.local]
            kind = "openai"
            base_url = "http://127.0.0.1:8080/v1/"
            model = "smollm2"
            thinking = "suppress"
            timeout_secs = 60

            [providers.claude]
            kind = "anthropic"
            model = "claude-sonnet-4-5"
            credential = "ANTHROPIC_API_KEY"
            thinking = "on"
            thinking_budget_tokens = 2048
            "#,
        )
        .unwrap();
        let local = &c.providers["local"];
        assert_eq!(local.kind, ProviderKind::OpenAi);
        assert_eq!(local.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(local.thinking, ThinkingMode::Suppress);
        assert_eq!(local.timeout, Duration::from_secs(60));
        assert_eq!(local.lone_close, None, "unset: decided by the model name");
        let claude = &c.providers["claude"];
        assert_eq!(claude.base_url, "https://api.anthropic.com");
        assert_eq!(claude.credential.as_deref(), Some("ANTHROPIC_API_KEY"));
        assert_eq!(claude.thinking_budget_tokens, 2048);
        assert_eq!(claude.max_tokens, Some(4096));
    }

    #[test]
    fn template_opens_think_sets_the_lone_close_reading() {
        let c = ProvidersConfig::parse(
            r#"
            [providers.r1]
            kind = "openai"
            base_url = "http://h/v1"
            model = "m"
            template_opens_think = true

            [providers.plain]
            kind = "openai"
            base_url = "http://h/v1"
            model = "m"
            template_opens_think = false
            "#,
        )
        .unwrap();
        assert_eq!(c.providers["r1"].lone_close, Some(LoneClose::Reasoning));
        assert_eq!(c.providers["plain"].lone_close, Some(LoneClose::Text));
    }

    #[test]
    fn default_provider_must_name_a_configured_provider() {
        let file =
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"";
        let c = ProvidersConfig::parse(&format!("default_provider = \"local\"\n{file}")).unwrap();
        assert_eq!(c.default_provider.as_deref(), Some("local"));
        let e = parse_err(&format!("default_provider = \"lokal\"\n{file}"));
        assert_eq!(
            e,
            "default_provider = 'lokal' names no provider in providers.toml (configured: local)"
        );
    }

    #[test]
    fn unknown_kind_names_provider_and_kind() {
        let e =
            parse_err("[providers.x]\nkind = \"gemini\"\nbase_url = \"http://h\"\nmodel = \"m\"");
        assert_eq!(
            e,
            "provider 'x': unknown kind 'gemini': expected \"openai\" or \"anthropic\""
        );
    }

    #[test]
    fn missing_base_url_for_openai_is_named() {
        let e = parse_err("[providers.local]\nkind = \"openai\"\nmodel = \"m\"");
        assert_eq!(e, "provider 'local': missing `base_url` in providers.toml");
    }

    #[test]
    fn missing_model_is_named() {
        let e = parse_err("[providers.local]\nkind = \"openai\"\nbase_url = \"http://h/v1\"");
        assert!(e.contains("missing `model`"), "{e}");
    }

    #[test]
    fn bad_url_is_named() {
        let e = parse_err(
            "[providers.local]\nkind = \"openai\"\nbase_url = \"127.0.0.1:8080\"\nmodel = \"m\"",
        );
        assert!(e.starts_with("provider 'local': base_url"), "{e}");
        let e = parse_err(
            "[providers.local]\nkind = \"openai\"\nbase_url = \"ftp://h\"\nmodel = \"m\"",
        );
        assert!(e.contains("http://"), "{e}");
    }

    #[test]
    fn url_with_embedded_credentials_is_rejected_without_echoing_them() {
        let e = parse_err("[providers.p]\nkind = \"openai\"\nbase_url = \"https://u:hunter2@h/v1\"\nmodel = \"m\"");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_pasted_key_in_credential_is_rejected_without_echoing_it() {
        let e = parse_err("[providers.p]\nkind = \"openai\"\nbase_url = \"https://h/v1\"\nmodel = \"m\"\ncredential = \"sk-or-v1-abcdef\"");
        assert!(e.contains("`credential`"), "{e}");
        assert!(!e.contains("sk-or"), "{e}");
    }

    #[test]
    fn unknown_field_is_a_parse_error_with_its_name() {
        let e = parse_err(
            "[providers.p]\nkind = \"openai\"\nbase_url = \"https://h/v1\"\nmodle = \"m\"",
        );
        assert!(e.contains("modle"), "{e}");
    }

    #[test]
    fn parse_errors_give_the_position_but_never_echo_the_line() {
        let e = parse_err("[providers.p]\nkind = \"openai\"\nbase_url = \"https://h/v1\"\nmodel = \"m\"\napi_key = \"sk-secret-123\"");
        assert!(
            e.contains("line 5, column 1: unknown field `api_key`"),
            "{e}"
        );
        assert!(!e.contains("sk-secret"), "{e}");
        let e = parse_err("[providers.p]\ncredential = sk-secret-123");
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("sk-secret"), "{e}");
        let e = parse_err("[providers.p]\nkind = \"openai\"\nbase_url = \"https://h/v1\"\nmodel = \"m\"\ntimeout_secs = \"sk-secret-123\"");
        assert!(
            e.contains("line 5, column 16: invalid type: string [value hidden], expected u64"),
            "{e}"
        );
        assert!(!e.contains("sk-secret"), "{e}");
    }

    #[test]
    fn bad_thinking_value_is_named() {
        let e = parse_err("[providers.p]\nkind = \"openai\"\nbase_url = \"https://h/v1\"\nmodel = \"m\"\nthinking = \"loud\"");
        assert!(e.contains("`thinking` is 'loud'"), "{e}");
    }

    #[test]
    fn missing_file_is_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let c = ProvidersConfig::load(&dir.path().join(PROVIDERS_FILE)).unwrap();
        assert!(c.providers.is_empty());
    }

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{s:?}").contains("sk-live"));
        assert_eq!(s.expose(), "sk-live-123");
    }
}
