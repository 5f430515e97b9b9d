//! `ai/*`: model inference through the providers named in
//! `<home>/providers.toml` (crate `continuum-inference`). The [`AiModule`]
//! loads them once at boot and contributes `ai/generate` and `ai/providers`.
//!
//! A missing or broken `providers.toml` never stops the daemon: it starts
//! with no providers and `ai/generate` answers a typed error saying what to
//! fix. Edits to the file take effect at the next daemon start.

mod generate;
mod providers;

pub use generate::{GenerateOutput, GenerateParams};
pub use providers::ProvidersOutput;

use continuum_egress::EgressPolicy;
use continuum_inference::{
    CredentialSource, InferenceAdapter, InferenceError, ProviderRegistry, PROVIDERS_FILE,
};
use continuum_kernel::command::{erase, CommandError, ErasedCommand, Module};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// How messages name the daemon's home.
const HOME_SHOWN: &str = "$CONTINUUM_HOME";

/// Contributes the `ai/*` commands over one set of providers.
pub struct AiModule {
    providers: Arc<Providers>,
}

/// The providers the daemon loaded, and why none were, if so. Loaded once
/// and shared by `ai/*` and the persona responder.
pub struct Providers {
    registry: Arc<ProviderRegistry>,
    /// Where the configuration lives, as callers are told it: relative to
    /// `$CONTINUUM_HOME`, so no caller (a TCP client, a persona) learns the
    /// home's absolute path.
    file: String,
    /// The configuration error, when `providers.toml` (or
    /// `CONTINUUM_THINKING`) could not be used. Never holds a key: config
    /// errors do not echo values.
    load_error: Option<String>,
}

impl AiModule {
    /// Loads `<home>/providers.toml`, with keys from the environment
    /// variables the providers name (no vault). Never fails: a missing file
    /// means no providers; a broken one is logged and reported by the
    /// commands.
    pub fn load(home: &Path) -> AiModule {
        AiModule::over(Providers::load(
            home,
            Arc::new(continuum_inference::EnvCredentials),
            Arc::new(continuum_egress::AllowAll),
        ))
    }

    /// A module over providers loaded elsewhere.
    pub fn over(providers: Arc<Providers>) -> AiModule {
        AiModule { providers }
    }

    /// A module over an already built registry (`file` is how error
    /// messages name where its configuration would live).
    pub fn new(registry: ProviderRegistry, file: impl Into<String>) -> AiModule {
        AiModule {
            providers: Arc::new(Providers {
                registry: Arc::new(registry),
                file: file.into(),
                load_error: None,
            }),
        }
    }
}

impl Providers {
    /// Loads `<home>/providers.toml`; each request's key comes from
    /// `credentials` when it is made (the vault, or an environment
    /// variable). Never fails: a missing file means no providers; a broken
    /// one is logged and reported by the commands.
    pub fn load(
        home: &Path,
        credentials: Arc<dyn CredentialSource>,
        egress: Arc<dyn EgressPolicy>,
    ) -> Arc<Providers> {
        let file = home.join(PROVIDERS_FILE);
        let (registry, load_error) = match ProviderRegistry::load(home, credentials, egress) {
            Ok(registry) => {
                let names: Vec<String> = registry.providers().into_iter().map(|p| p.name).collect();
                tracing::info!(file = %file.display(), providers = ?names, "inference providers loaded");
                (registry, None)
            }
            Err(err) => {
                tracing::warn!(error = %err, "inference providers not loaded; ai/* commands report why");
                let shown = err
                    .to_string()
                    .replace(&home.display().to_string(), HOME_SHOWN);
                (ProviderRegistry::default(), Some(shown))
            }
        };
        Arc::new(Providers {
            registry: Arc::new(registry),
            file: format!("{HOME_SHOWN}/{PROVIDERS_FILE}"),
            load_error,
        })
    }

    /// The registry, for the persona responder.
    pub fn registry(&self) -> Arc<ProviderRegistry> {
        Arc::clone(&self.registry)
    }

    /// The adapter for `requested`, or for the default provider when `None`.
    /// Errors name the field (`/provider`) and the configured names.
    pub fn adapter(
        &self,
        requested: Option<&str>,
    ) -> Result<Arc<dyn InferenceAdapter>, CommandError> {
        let file = &self.file;
        if let Some(err) = &self.load_error {
            return Err(CommandError::Unavailable(format!(
                "no inference provider is available because {file} could not be used: {err}; fix it and restart the daemon (cu stop; cu start)"
            )));
        }
        if self.registry.is_empty() {
            return Err(CommandError::Unavailable(format!(
                "no inference providers are configured: create {file} with one table per provider, e.g. [providers.local] with kind = \"openai\", base_url = \"http://127.0.0.1:8080/v1\", model = \"smollm2\"; then restart the daemon (cu stop; cu start)"
            )));
        }
        let known: Vec<String> = self
            .registry
            .providers()
            .into_iter()
            .map(|p| p.name)
            .collect();
        let name = match requested {
            Some(name) => name,
            None => self.registry.default_provider().ok_or_else(|| {
                CommandError::invalid_params(
                    "/provider",
                    format!(
                        "several providers are configured ({}) and {file} sets no default_provider: name one",
                        known.join(", ")
                    ),
                )
            })?,
        };
        self.registry.get(name).map_err(|_| {
            let mut reason = format!(
                "no provider named '{name}' in {file} (configured: {})",
                known.join(", ")
            );
            let close = continuum_kernel::dispatch::suggest(name, known.iter().map(String::as_str));
            if !close.is_empty() {
                reason.push_str(&format!("; did you mean {}?", close.join(", ")));
            }
            CommandError::invalid_params("/provider", reason)
        })
    }
}

impl Module for AiModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        vec![
            erase(generate::AiGenerate(Arc::clone(&self.providers))),
            erase(providers::AiProviders(Arc::clone(&self.providers))),
        ]
    }
}

/// The one mapping from an adapter error to a command error. Messages come
/// from the adapter (they name the provider, the status and what to do, and
/// never a key); `detail` repeats the machine-readable parts.
fn inference_error(err: InferenceError) -> CommandError {
    let provider = err.provider().map(str::to_owned);
    let (kind, status) = match &err {
        InferenceError::UnknownProvider { name, .. } => {
            return CommandError::invalid_params("/provider", format!("no provider named '{name}'"))
        }
        InferenceError::MissingCredential { .. } | InferenceError::Config(_) => {
            return CommandError::Unavailable(err.to_string())
        }
        InferenceError::InvalidRequest { .. } => {
            return CommandError::invalid_params("", err.to_string())
        }
        InferenceError::Http { status, .. } => ("http_status", Some(*status)),
        InferenceError::RateLimited { .. } => ("rate_limited", Some(429)),
        InferenceError::Timeout { .. } => ("timeout", None),
        InferenceError::Connect { .. } => ("connect", None),
        InferenceError::Decode { .. } => ("decode", None),
        InferenceError::Provider { .. } => ("provider_error", None),
        InferenceError::StreamDropped { .. } => ("stream_dropped", None),
        _ => ("other", None),
    };
    let mut detail = json!({ "kind": kind, "provider": provider });
    if let Some(status) = status {
        detail["status"] = json!(status);
    }
    if let InferenceError::RateLimited {
        retry_after: Some(after),
        ..
    } = &err
    {
        detail["retryAfterSecs"] = json!(after.as_secs());
    }
    CommandError::Upstream {
        message: err.to_string(),
        detail: Some(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_inference::ProvidersConfig;
    use continuum_wire::RpcError;

    /// Real adapters pointing at a port nothing listens on: resolution
    /// never sends a request.
    pub(super) fn providers(toml: &str) -> Providers {
        Providers {
            registry: Arc::new(
                ProviderRegistry::from_config(
                    ProvidersConfig::parse(toml).unwrap(),
                    continuum_inference::FixedCredential::shared(None),
                    None,
                )
                .unwrap(),
            ),
            file: "$CONTINUUM_HOME/providers.toml".into(),
            load_error: None,
        }
    }

    const TWO: &str = r#"
        [providers.local]
        kind = "openai"
        base_url = "http://127.0.0.1:9/v1"
        model = "smollm2"

        [providers.claude]
        kind = "anthropic"
        model = "claude-sonnet-4-5"
    "#;

    fn field_of(err: CommandError) -> (Option<String>, String) {
        let rpc = RpcError::from(err);
        (rpc.data.as_ref().and_then(|d| d.field.clone()), rpc.message)
    }

    #[test]
    fn named_provider_resolves() {
        let p = providers(TWO);
        assert_eq!(p.adapter(Some("claude")).unwrap().provider(), "claude");
    }

    #[test]
    fn unknown_provider_names_the_field_and_suggests_a_close_name() {
        let err = providers(TWO).adapter(Some("locl")).err().unwrap();
        assert!(matches!(err, CommandError::InvalidParams { .. }), "{err}");
        let (field, message) = field_of(err);
        assert_eq!(field.as_deref(), Some("/provider"));
        assert!(
            message.contains("configured: claude, local")
                && message.contains("did you mean local?"),
            "{message}"
        );
    }

    #[test]
    fn several_providers_without_a_default_need_a_name() {
        let err = providers(TWO).adapter(None).err().unwrap();
        let (field, message) = field_of(err);
        assert_eq!(field.as_deref(), Some("/provider"));
        assert!(message.contains("default_provider"), "{message}");
    }

    #[test]
    fn the_default_provider_serves_requests_that_name_none() {
        let p = providers(&format!("default_provider = \"claude\"\n{TWO}"));
        assert_eq!(p.adapter(None).unwrap().provider(), "claude");
    }

    #[test]
    fn no_providers_file_says_how_to_configure_one() {
        let p = Providers {
            registry: Arc::default(),
            file: "$CONTINUUM_HOME/providers.toml".into(),
            load_error: None,
        };
        let err = p.adapter(Some("local")).err().unwrap();
        assert!(matches!(err, CommandError::Unavailable(_)), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("create $CONTINUUM_HOME/providers.toml")
                && message.contains("[providers.local]"),
            "{message}"
        );
    }

    #[test]
    fn a_broken_providers_file_is_reported_not_fatal() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(PROVIDERS_FILE),
            "[providers.p]\nkind = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key = \"sk-live-abc\"",
        )
        .unwrap();
        let module = AiModule::load(home.path());
        assert_eq!(module.commands().len(), 2);
        let err = module.providers.adapter(None).err().unwrap();
        let message = err.to_string();
        assert!(message.contains("unknown field `api_key`"), "{message}");
        assert!(!message.contains("sk-live"), "{message}");
    }

    #[test]
    fn upstream_errors_keep_provider_and_status_in_detail() {
        let err = inference_error(InferenceError::Http {
            provider: "local".into(),
            status: 503,
            body_excerpt: "overloaded".into(),
            hint: "try again later".into(),
        });
        let rpc = RpcError::from(err);
        assert_eq!(rpc.code, continuum_wire::ErrorCode::Upstream.code());
        assert!(
            rpc.message.contains("provider 'local' answered HTTP 503"),
            "{}",
            rpc.message
        );
        let detail = rpc.data.unwrap().detail.unwrap();
        assert_eq!(
            detail,
            json!({"kind": "http_status", "provider": "local", "status": 503})
        );
    }

    #[test]
    fn a_missing_credential_is_unavailable_and_names_only_the_credential() {
        let err = inference_error(InferenceError::MissingCredential {
            provider: "router".into(),
            credential: "OPENROUTER_API_KEY".into(),
        });
        assert!(matches!(err, CommandError::Unavailable(_)));
        assert!(err.to_string().contains("export OPENROUTER_API_KEY"));
    }
}
