//! The one map `name -> command`, built once at boot from the self-registered
//! catalog plus the commands modules contribute.

use super::validate;
use super::{CommandError, DynCommand, ErasedCommand, Limits};
use crate::dispatch::CommandStats;
use continuum_wire::{Access, CommandDescriptor};
use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A stateless command's entry in the global catalog (see `register_command!`).
pub struct Registration {
    /// Builds the erased command.
    pub build: fn() -> ErasedCommand,
}

inventory::collect!(Registration);

/// A part of the daemon that owns dependencies and contributes the commands
/// that need them.
pub trait Module: Send + Sync {
    /// The commands this module serves.
    fn commands(&self) -> Vec<ErasedCommand>;
}

/// Why the registry could not be built. Any of these fails the boot.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Two commands claim one name.
    #[error("duplicate command name '{name}': registered by both {first} and {second}")]
    Duplicate {
        /// The contested name.
        name: String,
        /// The type registered first.
        first: &'static str,
        /// The type registered second.
        second: &'static str,
    },
    /// A name is not lowercase slash-separated segments.
    #[error("invalid command name '{name}' ({origin}): {reason}")]
    BadName {
        /// The name.
        name: String,
        /// The type that declared it.
        origin: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A command is declared both read-only and destructive.
    #[error("command '{name}' ({origin}) is declared both read-only and destructive")]
    ReadOnlyAndDestructive {
        /// The command.
        name: String,
        /// The type that declared it.
        origin: &'static str,
    },
    /// A destructive command is reachable by someone other than the owner.
    #[error(
        "command '{name}' ({origin}) is destructive but declared {access}; destructive commands must be owner_only"
    )]
    DestructiveNotOwnerOnly {
        /// The command.
        name: String,
        /// The type that declared it.
        origin: &'static str,
        /// The access it declared.
        access: &'static str,
    },
    /// A limit override names no registered command.
    #[error(
        "limits configured for unknown command '{name}'{}",
        did_you_mean(suggestions)
    )]
    UnknownLimitTarget {
        /// The name in the configuration.
        name: String,
        /// Close registered names.
        suggestions: Vec<String>,
    },
    /// A limit override is unusable.
    #[error("limits for '{name}': {reason}")]
    BadLimit {
        /// The command.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A derived params schema does not compile.
    #[error("command '{name}' has an invalid params schema: {reason}")]
    BadSchema {
        /// The command.
        name: String,
        /// The compiler's complaint.
        reason: String,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

/// Limits set for one command by the daemon's configuration; what is `None`
/// keeps the command's own default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverride {
    /// Longest a call may run.
    pub timeout: Option<Duration>,
    /// Most calls running at once.
    pub max_concurrency: Option<usize>,
    /// How long a call over the limit waits before `overloaded`.
    pub max_wait: Option<Duration>,
}

/// One routable command with everything derived from it, built once.
/// Read-only outside the kernel: its command cannot be run from here.
pub struct Entry {
    pub(crate) command: Arc<dyn DynCommand>,
    descriptor: Arc<CommandDescriptor>,
    validator: Validator,
    limits: Limits,
    concurrency: Option<Arc<Semaphore>>,
    stats: CommandStats,
}

impl Entry {
    /// The descriptor served by `commands/list`.
    pub fn descriptor(&self) -> &Arc<CommandDescriptor> {
        &self.descriptor
    }

    /// Limits in force: the command's defaults with any configured override.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Validates params against the schema.
    pub fn validate(&self, params: &Value) -> Result<(), CommandError> {
        validate::check(&self.validator, params)
    }

    pub(crate) fn concurrency(&self) -> Option<&Arc<Semaphore>> {
        self.concurrency.as_ref()
    }

    /// Call counters and latency.
    pub fn stats(&self) -> &CommandStats {
        &self.stats
    }
}

/// Collects commands, then checks and freezes them into a [`Registry`].
#[derive(Default)]
pub struct RegistryBuilder {
    commands: Vec<Arc<dyn DynCommand>>,
    overrides: HashMap<String, LimitOverride>,
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        RegistryBuilder::default()
    }

    /// Adds every self-registered stateless command.
    pub fn with_registered(mut self) -> Self {
        for registration in inventory::iter::<Registration> {
            self.commands.push((registration.build)().0);
        }
        self
    }

    /// Adds one command.
    pub fn command(mut self, command: ErasedCommand) -> Self {
        self.commands.push(command.0);
        self
    }

    /// Adds everything a module contributes.
    pub fn module(mut self, module: &dyn Module) -> Self {
        self.commands
            .extend(module.commands().into_iter().map(|command| command.0));
        self
    }

    /// Overrides commands' declared limits (from the daemon's configuration).
    /// Every name must be a registered command, or the build fails.
    pub fn limits(mut self, overrides: HashMap<String, LimitOverride>) -> Self {
        self.overrides = overrides;
        self
    }

    /// Checks names, rejects duplicates and destructive commands that are not
    /// owner-only, applies limit overrides, derives and compiles schemas.
    pub fn build(mut self) -> Result<Registry, RegistryError> {
        let mut entries: HashMap<&'static str, Entry> = HashMap::with_capacity(self.commands.len());
        for command in self.commands {
            let name = command.name();
            check_name(name).map_err(|reason| RegistryError::BadName {
                name: name.to_owned(),
                origin: command.origin(),
                reason,
            })?;
            if let Some(existing) = entries.get(name) {
                return Err(RegistryError::Duplicate {
                    name: name.to_owned(),
                    first: existing.command.origin(),
                    second: command.origin(),
                });
            }
            let descriptor = command.descriptor();
            if descriptor.destructive && descriptor.read_only {
                return Err(RegistryError::ReadOnlyAndDestructive {
                    name: name.to_owned(),
                    origin: command.origin(),
                });
            }
            if descriptor.destructive && descriptor.access != Access::OwnerOnly {
                return Err(RegistryError::DestructiveNotOwnerOnly {
                    name: name.to_owned(),
                    origin: command.origin(),
                    access: descriptor.access.as_str(),
                });
            }
            let validator = validate::compile(&descriptor.params_schema).map_err(|reason| {
                RegistryError::BadSchema {
                    name: name.to_owned(),
                    reason,
                }
            })?;
            let limits = apply(command.limits(), self.overrides.remove(name), name)?;
            let concurrency = limits
                .max_concurrency
                .map(|permits| Arc::new(Semaphore::new(permits)));
            entries.insert(
                name,
                Entry {
                    command,
                    descriptor: Arc::new(descriptor),
                    validator,
                    limits,
                    concurrency,
                    stats: CommandStats::new(),
                },
            );
        }
        if let Some(name) = self.overrides.into_keys().min() {
            let suggestions = crate::dispatch::suggest(&name, entries.keys().copied());
            return Err(RegistryError::UnknownLimitTarget { name, suggestions });
        }
        let mut names: Vec<&'static str> = entries.keys().copied().collect();
        names.sort_unstable();
        Ok(Registry { entries, names })
    }
}

fn apply(
    declared: Limits,
    overridden: Option<LimitOverride>,
    name: &str,
) -> Result<Limits, RegistryError> {
    let Some(overridden) = overridden else {
        return Ok(declared);
    };
    let bad = |reason| RegistryError::BadLimit {
        name: name.to_owned(),
        reason,
    };
    if overridden.max_concurrency == Some(0) {
        return Err(bad("max_concurrency must be at least 1"));
    }
    if overridden.timeout == Some(Duration::ZERO) {
        return Err(bad("timeout must be above zero"));
    }
    Ok(Limits {
        timeout: overridden.timeout.unwrap_or(declared.timeout),
        max_concurrency: overridden.max_concurrency.or(declared.max_concurrency),
        max_wait: overridden.max_wait.unwrap_or(declared.max_wait),
    })
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    for segment in name.split('/') {
        if segment.is_empty() {
            return Err("empty segment (leading, trailing or doubled '/')");
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("segments may hold only a-z, 0-9 and '-'");
        }
    }
    Ok(())
}

/// The frozen command map.
pub struct Registry {
    entries: HashMap<&'static str, Entry>,
    names: Vec<&'static str>,
}

impl Registry {
    /// The entry for `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// All entries, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.names.iter().map(move |name| &self.entries[name])
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no command is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{erase, Command, Ctx, NoParams};
    use continuum_wire::Access;

    #[derive(Default)]
    struct First;
    impl Command for First {
        const NAME: &'static str = "test/same";
        const DESCRIPTION: &'static str = "first";
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct Second;
    impl Command for Second {
        const NAME: &'static str = "test/same";
        const DESCRIPTION: &'static str = "second";
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct BadlyNamed;
    impl Command for BadlyNamed {
        const NAME: &'static str = "Data//List";
        const DESCRIPTION: &'static str = "bad";
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[test]
    fn duplicate_name_fails_the_build_naming_both_types() {
        let err = RegistryBuilder::new()
            .command(erase(First))
            .command(erase(Second))
            .build()
            .err()
            .expect("duplicate must fail");
        let text = err.to_string();
        assert!(text.contains("test/same"), "{text}");
        assert!(text.contains("First") && text.contains("Second"), "{text}");
    }

    #[test]
    fn malformed_name_fails_the_build() {
        let err = RegistryBuilder::new()
            .command(erase(BadlyNamed))
            .build()
            .err()
            .unwrap();
        assert!(matches!(err, RegistryError::BadName { .. }), "{err}");
    }

    #[test]
    fn every_registered_command_has_a_compiled_descriptor() {
        let registry = RegistryBuilder::new()
            .with_registered()
            .command(erase(First))
            .build()
            .unwrap();
        assert!(registry.get("test/same").is_some());
        for entry in registry.entries() {
            assert_eq!(entry.descriptor().name, entry.command.name());
            assert!(entry.descriptor().params_schema.is_object());
        }
    }

    #[derive(Default)]
    struct Wipe;
    impl Command for Wipe {
        const NAME: &'static str = "test/wipe";
        const DESCRIPTION: &'static str = "destructive, wrongly AI-safe";
        const ACCESS: Access = Access::AiSafe;
        const DESTRUCTIVE: bool = true;
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct OwnerWipe;
    impl Command for OwnerWipe {
        const NAME: &'static str = "test/owner-wipe";
        const DESCRIPTION: &'static str = "destructive, owner-only";
        const DESTRUCTIVE: bool = true;
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[test]
    fn a_destructive_command_declared_ai_safe_fails_the_boot() {
        let err = RegistryBuilder::new()
            .command(erase(Wipe))
            .build()
            .err()
            .expect("a destructive AI-safe command must fail the build");
        assert!(
            matches!(err, RegistryError::DestructiveNotOwnerOnly { ref name, .. } if name == "test/wipe"),
            "{err}"
        );
        let registry = RegistryBuilder::new()
            .command(erase(OwnerWipe))
            .build()
            .unwrap();
        assert!(
            registry
                .get("test/owner-wipe")
                .unwrap()
                .descriptor()
                .destructive
        );
    }

    #[derive(Default)]
    struct ReadingWipe;
    impl Command for ReadingWipe {
        const NAME: &'static str = "test/reading-wipe";
        const DESCRIPTION: &'static str = "destructive and read-only at once";
        const DESTRUCTIVE: bool = true;
        const READ_ONLY: bool = true;
        type Params = NoParams;
        type Output = ();
        async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
            Ok(())
        }
    }

    #[test]
    fn a_command_both_read_only_and_destructive_fails_the_boot() {
        let err = RegistryBuilder::new()
            .command(erase(ReadingWipe))
            .build()
            .err()
            .expect("read-only and destructive at once must fail the build");
        assert!(
            matches!(err, RegistryError::ReadOnlyAndDestructive { ref name, .. } if name == "test/reading-wipe"),
            "{err}"
        );
    }

    #[test]
    fn limit_overrides_apply_and_unknown_targets_fail_the_boot() {
        let overrides = |name: &str, concurrency| {
            HashMap::from([(
                name.to_owned(),
                LimitOverride {
                    max_concurrency: concurrency,
                    max_wait: Some(Duration::from_millis(5)),
                    ..LimitOverride::default()
                },
            )])
        };
        let registry = RegistryBuilder::new()
            .command(erase(First))
            .limits(overrides("test/same", Some(2)))
            .build()
            .unwrap();
        let limits = registry.get("test/same").unwrap().limits();
        assert_eq!(limits.max_concurrency, Some(2));
        assert_eq!(limits.max_wait, Duration::from_millis(5));
        assert_eq!(limits.timeout, Limits::DEFAULT.timeout);

        let err = RegistryBuilder::new()
            .command(erase(First))
            .limits(overrides("test/sane", Some(2)))
            .build()
            .err()
            .unwrap();
        assert!(err.to_string().contains("did you mean test/same"), "{err}");
        let err = RegistryBuilder::new()
            .command(erase(First))
            .limits(overrides("test/same", Some(0)))
            .build()
            .err()
            .unwrap();
        assert!(matches!(err, RegistryError::BadLimit { .. }), "{err}");
    }
}
