//! Inference adapters: one trait ([`InferenceAdapter`]) over the chat APIs
//! Continuum talks to — OpenAI-compatible chat completions and Anthropic
//! Messages — with reasoning separated from the answer at this boundary.
//!
//! The crate knows nothing of the daemon: it turns a [`GenerateRequest`] into
//! a [`GenerateResponse`] (or a stream of [`StreamEvent`]s), reads its
//! provider list from `providers.toml` ([`ProviderRegistry`]) and resolves
//! keys through a caller-supplied [`CredentialSource`]. Its only network I/O
//! is HTTP through `reqwest` (rustls); everything else — the reasoning split,
//! thinking switches, retry policy, SSE parsing, config validation — is pure
//! and tested without I/O.

#![warn(missing_docs)]

mod adapter;
pub mod anthropic;
pub mod config;
mod error;
pub mod openai;
pub mod reasoning;
mod registry;
mod request;
mod response;
pub mod retry;
mod sse;
pub mod thinking;
mod transport;

pub use adapter::{EventStream, InferenceAdapter};
pub use anthropic::AnthropicAdapter;
pub use config::{
    ConfigError, CredentialActor, CredentialSource, EnvCredentials, FixedCredential,
    ProviderConfig, ProviderKind, ProvidersConfig, Secret, PROVIDERS_FILE, VAULT_PREFIX,
};
pub use error::InferenceError;
pub use openai::OpenAiAdapter;
pub use reasoning::{separate_reasoning, LoneClose, ReasoningSplitter, Separated};
pub use registry::{thinking_from_env, ProviderInfo, ProviderRegistry};
pub use request::{GenerateRequest, Message, Role, ToolSpec};
pub use response::{FinishReason, GenerateResponse, StreamEvent, ToolCall, Usage};
pub use retry::RetryPolicy;
pub use thinking::{ThinkingControl, ThinkingMode, THINKING_ENV};
