//! Thinking mode: whether a model should reason before answering, and how
//! each provider is told.
//!
//! Precedence, highest first: the request's `thinking`, then the
//! `CONTINUUM_THINKING` environment variable, then the provider's configured
//! `thinking` ([`resolve_thinking`]). The environment is read once, when the
//! registry is built.
//!
//! What is sent for each mode:
//! - Anthropic: `Default` and `Suppress` send no `thinking` parameter; `On`
//!   sends `thinking: {type: "enabled", budget_tokens}`.
//! - OpenAI-compatible, per the provider's [`ThinkingControl`]:
//!   - `soft-switch` (Qwen3 family; what `auto` picks for a model whose name
//!     contains `qwen3`): `Suppress` appends ` /no_think` and `On` appends
//!     ` /think` to the last user turn ([`apply_soft_switch`]).
//!   - `template-kwargs` (vLLM, SGLang, llama.cpp `--jinja`):
//!     `chat_template_kwargs: {enable_thinking: false|true}` for
//!     `Suppress`|`On`.
//!   - `none` (and `auto` for other models): nothing is sent; hosted APIs
//!     reject unknown fields. The reasoning split still keeps any reasoning
//!     out of the text.
//!   - `Default` never sends anything.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::request::{Message, Role};

/// The environment variable that overrides every provider's thinking mode.
pub const THINKING_ENV: &str = "CONTINUUM_THINKING";

/// Whether the model should reason before it answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ThinkingMode {
    /// Whatever the model does by default; nothing is sent.
    #[default]
    Default,
    /// Ask the model not to reason (where the model has a switch for it).
    Suppress,
    /// Ask the model to reason.
    On,
}

impl ThinkingMode {
    /// The spelling used in config files and the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingMode::Default => "default",
            ThinkingMode::Suppress => "suppress",
            ThinkingMode::On => "on",
        }
    }
}

impl fmt::Display for ThinkingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A thinking mode spelling that is not `default`, `suppress` or `on`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown thinking mode '{0}': expected default, suppress or on")]
pub struct UnknownThinkingMode(pub String);

impl FromStr for ThinkingMode {
    type Err = UnknownThinkingMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(ThinkingMode::Default),
            "suppress" => Ok(ThinkingMode::Suppress),
            "on" => Ok(ThinkingMode::On),
            _ => Err(UnknownThinkingMode(s.to_owned())),
        }
    }
}

/// The effective mode: request over environment over provider config.
pub fn resolve_thinking(
    request: Option<ThinkingMode>,
    env: Option<ThinkingMode>,
    provider: ThinkingMode,
) -> ThinkingMode {
    request.or(env).unwrap_or(provider)
}

/// How an OpenAI-compatible server is told the thinking mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ThinkingControl {
    /// `soft-switch` for Qwen3-family model names, else `none`.
    #[default]
    Auto,
    /// `/no_think` or `/think` appended to the last user turn.
    SoftSwitch,
    /// `chat_template_kwargs.enable_thinking` in the request body.
    TemplateKwargs,
    /// Send nothing.
    None,
}

impl ThinkingControl {
    /// Resolves `Auto` for a model name.
    pub fn for_model(self, model: &str) -> ThinkingControl {
        match self {
            ThinkingControl::Auto if has_soft_switch(model) => ThinkingControl::SoftSwitch,
            ThinkingControl::Auto => ThinkingControl::None,
            other => other,
        }
    }
}

/// Whether a model family understands the `/no_think` and `/think` soft
/// switches (Qwen3, including fine-tunes that keep the name).
pub fn has_soft_switch(model: &str) -> bool {
    model.to_ascii_lowercase().contains("qwen3")
}

/// Appends the soft switch for `mode` to the last user turn: ` /no_think`
/// for `Suppress`, ` /think` for `On`, nothing for `Default`. Returns whether
/// a message was changed (false also when there is no user turn or the turn
/// already ends with the switch).
pub fn apply_soft_switch(messages: &mut [Message], mode: ThinkingMode) -> bool {
    let switch = match mode {
        ThinkingMode::Default => return false,
        ThinkingMode::Suppress => "/no_think",
        ThinkingMode::On => "/think",
    };
    let Some(last_user) = messages.iter_mut().rev().find(|m| m.role == Role::User) else {
        return false;
    };
    if last_user.content.trim_end().ends_with(switch) {
        return false;
    }
    if !last_user.content.is_empty() {
        last_user.content.push(' ');
    }
    last_user.content.push_str(switch);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_beats_env_beats_provider() {
        use ThinkingMode::*;
        assert_eq!(resolve_thinking(Some(On), Some(Suppress), Default), On);
        assert_eq!(resolve_thinking(None, Some(Suppress), On), Suppress);
        assert_eq!(resolve_thinking(None, None, Suppress), Suppress);
    }

    #[test]
    fn suppress_appends_no_think_to_the_last_user_turn_only() {
        let mut messages = vec![
            Message::system("be brief"),
            Message::user("first"),
            Message::assistant("ok"),
            Message::user("what is 12*12?"),
            Message::assistant("thinking aloud"),
        ];
        assert!(apply_soft_switch(&mut messages, ThinkingMode::Suppress));
        assert_eq!(messages[1].content, "first");
        assert_eq!(messages[3].content, "what is 12*12? /no_think");
        assert_eq!(messages[4].content, "thinking aloud");
    }

    #[test]
    fn on_appends_think() {
        let mut messages = vec![Message::user("plan a trip")];
        assert!(apply_soft_switch(&mut messages, ThinkingMode::On));
        assert_eq!(messages[0].content, "plan a trip /think");
    }

    #[test]
    fn soft_switch_is_a_no_op_without_a_user_turn_or_in_default_mode() {
        let mut messages = vec![Message::system("s")];
        assert!(!apply_soft_switch(&mut messages, ThinkingMode::Suppress));
        let mut messages = vec![Message::user("hi")];
        assert!(!apply_soft_switch(&mut messages, ThinkingMode::Default));
        assert_eq!(messages[0].content, "hi");
    }

    #[test]
    fn soft_switch_is_not_doubled() {
        let mut messages = vec![Message::user("hi /no_think")];
        assert!(!apply_soft_switch(&mut messages, ThinkingMode::Suppress));
        assert_eq!(messages[0].content, "hi /no_think");
    }

    #[test]
    fn auto_control_picks_the_soft_switch_for_qwen3_only() {
        assert_eq!(
            ThinkingControl::Auto.for_model("unsloth/Qwen3-4B-GGUF"),
            ThinkingControl::SoftSwitch
        );
        assert_eq!(
            ThinkingControl::Auto.for_model("smollm2"),
            ThinkingControl::None
        );
        assert_eq!(
            ThinkingControl::TemplateKwargs.for_model("qwen3"),
            ThinkingControl::TemplateKwargs
        );
    }

    #[test]
    fn modes_parse_case_insensitively() {
        assert_eq!("Suppress".parse(), Ok(ThinkingMode::Suppress));
        assert_eq!(" on ".parse(), Ok(ThinkingMode::On));
        assert!("maybe".parse::<ThinkingMode>().is_err());
    }
}
