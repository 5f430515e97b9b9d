//! The named providers the daemon can use, built from `providers.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::adapter::InferenceAdapter;
use crate::anthropic::AnthropicAdapter;
use crate::config::{ConfigError, CredentialSource, ProviderKind, ProvidersConfig, PROVIDERS_FILE};
use crate::error::InferenceError;
use crate::openai::OpenAiAdapter;
use crate::thinking::{ThinkingMode, THINKING_ENV};

/// What `ai/providers` shows about a provider. Never a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    /// Configured name.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL.
    pub base_url: String,
    /// Model used when a request names none.
    pub model: String,
    /// Effective default thinking mode (environment override applied).
    pub thinking: ThinkingMode,
    /// Name of the credential it uses, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Whether that credential is set, when that is known without using
    /// it (an environment variable); absent for a vault item, whose every
    /// release is resolved and audited at the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_present: Option<bool>,
}

/// The adapters by provider name.
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    entries: BTreeMap<String, (ProviderInfo, Arc<dyn InferenceAdapter>)>,
    /// `default_provider` from the file, if set.
    default: Option<String>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.values().map(|(info, _)| info))
            .finish()
    }
}

/// Reads `CONTINUUM_THINKING` (`default`, `suppress` or `on`; unset or empty
/// means no override).
pub fn thinking_from_env() -> Result<Option<ThinkingMode>, ConfigError> {
    match std::env::var(THINKING_ENV) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v.parse().map(Some).map_err(|_| ConfigError::InvalidEnv {
            var: THINKING_ENV,
            value: v,
            expected: "default, suppress or on",
        }),
        Err(_) => Ok(None),
    }
}

impl ProviderRegistry {
    /// Builds the registry from `<home>/providers.toml` (absent file: no
    /// providers), with `CONTINUUM_THINKING` applied over each provider's
    /// `thinking`.
    /// Every adapter checks its connections against `egress`.
    pub fn load(
        home: &Path,
        credentials: Arc<dyn CredentialSource>,
        egress: Arc<dyn continuum_egress::EgressPolicy>,
    ) -> Result<Self, ConfigError> {
        let config = ProvidersConfig::load(&home.join(PROVIDERS_FILE))?;
        Self::build(config, credentials, egress, thinking_from_env()?)
    }

    /// Builds the registry from parsed config. `thinking_override` (the
    /// environment's) replaces each provider's default thinking mode; a
    /// request's own mode still wins over it. A provider whose credential is
    /// missing is still listed; its calls fail with
    /// [`InferenceError::MissingCredential`].
    pub fn from_config(
        config: ProvidersConfig,
        credentials: Arc<dyn CredentialSource>,
        thinking_override: Option<ThinkingMode>,
    ) -> Result<Self, ConfigError> {
        Self::build(
            config,
            credentials,
            Arc::new(continuum_egress::AllowAll),
            thinking_override,
        )
    }

    fn build(
        config: ProvidersConfig,
        credentials: Arc<dyn CredentialSource>,
        egress: Arc<dyn continuum_egress::EgressPolicy>,
        thinking_override: Option<ThinkingMode>,
    ) -> Result<Self, ConfigError> {
        let mut registry = Self {
            default: config.default_provider,
            ..Self::default()
        };
        for (name, mut provider) in config.providers {
            if let Some(mode) = thinking_override {
                provider.thinking = mode;
            }
            let present = provider
                .credential
                .as_deref()
                .and_then(|c| credentials.present(c));
            let info = ProviderInfo {
                name: name.clone(),
                kind: provider.kind,
                base_url: provider.base_url.clone(),
                model: provider.model.clone(),
                thinking: provider.thinking,
                credential: provider.credential.clone(),
                credential_present: present,
            };
            let adapter: Arc<dyn InferenceAdapter> = match provider.kind {
                ProviderKind::OpenAi => Arc::new(
                    OpenAiAdapter::new(&provider, Arc::clone(&credentials))?
                        .with_egress(Arc::clone(&egress)),
                ),
                ProviderKind::Anthropic => Arc::new(
                    AnthropicAdapter::new(&provider, Arc::clone(&credentials))?
                        .with_egress(Arc::clone(&egress)),
                ),
            };
            registry.entries.insert(name, (info, adapter));
        }
        Ok(registry)
    }

    /// Adds (or replaces) a provider, e.g. an in-memory adapter in tests.
    pub fn insert(&mut self, info: ProviderInfo, adapter: Arc<dyn InferenceAdapter>) {
        self.entries.insert(info.name.clone(), (info, adapter));
    }

    /// The adapter for `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn InferenceAdapter>, InferenceError> {
        self.entries
            .get(name)
            .map(|(_, adapter)| Arc::clone(adapter))
            .ok_or_else(|| InferenceError::UnknownProvider {
                name: name.to_owned(),
                known: self.entries.keys().cloned().collect(),
            })
    }

    /// The provider a request that names none uses: `default_provider`
    /// from the file, else the only provider when there is exactly one.
    pub fn default_provider(&self) -> Option<&str> {
        match (&self.default, self.entries.len()) {
            (Some(name), _) => Some(name),
            (None, 1) => self.entries.keys().next().map(String::as_str),
            (None, _) => None,
        }
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every provider, by name, without keys.
    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.entries
            .values()
            .map(|(info, _)| info.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    struct Fixed;
    impl CredentialSource for Fixed {
        fn resolve<'a>(
            &'a self,
            name: &'a str,
            _: &'a str,
            _: Option<&'a crate::config::CredentialActor>,
        ) -> futures_util::future::BoxFuture<'a, Result<Option<Secret>, String>> {
            let found = (name == "PRESENT_KEY").then(|| Secret::new("sk-test-value"));
            Box::pin(std::future::ready(Ok(found)))
        }
        fn present(&self, name: &str) -> Option<bool> {
            Some(name == "PRESENT_KEY")
        }
    }

    const FILE: &str = r#"
        [providers.local]
        kind = "openai"
        base_url = "http://127.0.0.1:8080/v1"
        model = "smollm2"
        thinking = "suppress"

        [providers.claude]
        kind = "anthropic"
        model = "claude-sonnet-4-5"
        credential = "PRESENT_KEY"

        [providers.router]
        kind = "openai"
        base_url = "https://openrouter.ai/api/v1"
        model = "qwen/qwen3-8b"
        credential = "ABSENT_KEY"
    "#;

    #[test]
    fn registry_lists_providers_without_keys() {
        let registry = ProviderRegistry::from_config(
            ProvidersConfig::parse(FILE).unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        let infos = registry.providers();
        let names: Vec<_> = infos.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["claude", "local", "router"]);
        assert_eq!(infos[0].credential_present, Some(true));
        assert_eq!(infos[2].credential_present, Some(false));
        let listed = serde_json::to_string(&infos).unwrap() + &format!("{registry:?}");
        assert!(!listed.contains("sk-test-value"));
        assert_eq!(
            registry.get("claude").unwrap().kind(),
            ProviderKind::Anthropic
        );
        assert_eq!(registry.get("local").unwrap().provider(), "local");
    }

    #[test]
    fn default_provider_is_the_configured_one_or_the_only_one() {
        let several = ProviderRegistry::from_config(
            ProvidersConfig::parse(FILE).unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        assert_eq!(several.default_provider(), None);
        let chosen = ProviderRegistry::from_config(
            ProvidersConfig::parse(&format!("default_provider = \"local\"\n{FILE}")).unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        assert_eq!(chosen.default_provider(), Some("local"));
        let one = ProviderRegistry::from_config(
            ProvidersConfig::parse(
                "[providers.only]\nkind = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"",
            )
            .unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        assert_eq!(one.default_provider(), Some("only"));
        assert_eq!(ProviderRegistry::default().default_provider(), None);
        assert!(ProviderRegistry::default().is_empty());
    }

    #[test]
    fn env_override_replaces_provider_thinking() {
        let registry = ProviderRegistry::from_config(
            ProvidersConfig::parse(FILE).unwrap(),
            Arc::new(Fixed),
            Some(ThinkingMode::On),
        )
        .unwrap();
        assert!(registry
            .providers()
            .iter()
            .all(|i| i.thinking == ThinkingMode::On));
    }

    #[test]
    fn unknown_provider_lists_the_known_ones() {
        let registry = ProviderRegistry::from_config(
            ProvidersConfig::parse(FILE).unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        let e = registry.get("gpt").err().unwrap();
        assert_eq!(
            e.to_string(),
            "no provider named 'gpt' in providers.toml (configured: claude, local, router)"
        );
    }

    #[tokio::test]
    async fn missing_credential_fails_the_call_and_names_the_credential() {
        let registry = ProviderRegistry::from_config(
            ProvidersConfig::parse(FILE).unwrap(),
            Arc::new(Fixed),
            None,
        )
        .unwrap();
        let e = registry
            .get("router")
            .unwrap()
            .generate(crate::GenerateRequest::new(vec![crate::Message::user(
                "hi",
            )]))
            .await
            .unwrap_err();
        assert!(matches!(e, InferenceError::MissingCredential { .. }), "{e}");
        assert!(e.to_string().contains("ABSENT_KEY"));
    }

    #[test]
    fn load_reads_providers_toml_from_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(PROVIDERS_FILE), FILE).unwrap();
        let registry = ProviderRegistry::load(
            home.path(),
            Arc::new(Fixed),
            Arc::new(continuum_egress::AllowAll),
        )
        .unwrap();
        assert_eq!(registry.providers().len(), 3);
    }
}
