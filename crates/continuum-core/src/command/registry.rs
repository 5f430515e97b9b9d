//! The one map `name -> command`, built once at boot from the self-registered
//! catalog plus the commands modules contribute.

use super::validate;
use super::{CommandError, DynCommand, Limits};
use crate::dispatch::CommandStats;
use continuum_wire::CommandDescriptor;
use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A stateless command's entry in the global catalog (see `register_command!`).
pub struct Registration {
    /// Builds the erased command.
    pub build: fn() -> Arc<dyn DynCommand>,
}

inventory::collect!(Registration);

/// A part of the daemon that owns dependencies and contributes the commands
/// that need them.
pub trait Module: Send + Sync {
    /// The commands this module serves.
    fn commands(&self) -> Vec<Arc<dyn DynCommand>>;
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
    /// A derived params schema does not compile.
    #[error("command '{name}' has an invalid params schema: {reason}")]
    BadSchema {
        /// The command.
        name: String,
        /// The compiler's complaint.
        reason: String,
    },
}

/// One routable command with everything derived from it, built once.
pub struct Entry {
    command: Arc<dyn DynCommand>,
    descriptor: Arc<CommandDescriptor>,
    validator: Validator,
    concurrency: Option<Arc<Semaphore>>,
    stats: CommandStats,
}

impl Entry {
    /// The routable object.
    pub fn command(&self) -> &Arc<dyn DynCommand> {
        &self.command
    }

    /// The descriptor served by `commands/list`.
    pub fn descriptor(&self) -> &Arc<CommandDescriptor> {
        &self.descriptor
    }

    /// Limits declared by the command.
    pub fn limits(&self) -> Limits {
        self.command.limits()
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
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        RegistryBuilder::default()
    }

    /// Adds every self-registered stateless command.
    pub fn with_registered(mut self) -> Self {
        for registration in inventory::iter::<Registration> {
            self.commands.push((registration.build)());
        }
        self
    }

    /// Adds one command.
    pub fn command(mut self, command: Arc<dyn DynCommand>) -> Self {
        self.commands.push(command);
        self
    }

    /// Adds everything a module contributes.
    pub fn module(mut self, module: &dyn Module) -> Self {
        self.commands.extend(module.commands());
        self
    }

    /// Checks names, rejects duplicates, derives and compiles schemas.
    pub fn build(self) -> Result<Registry, RegistryError> {
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
            let validator = validate::compile(&descriptor.params_schema).map_err(|reason| {
                RegistryError::BadSchema {
                    name: name.to_owned(),
                    reason,
                }
            })?;
            let concurrency = command
                .limits()
                .max_concurrency
                .map(|permits| Arc::new(Semaphore::new(permits)));
            entries.insert(
                name,
                Entry {
                    command,
                    descriptor: Arc::new(descriptor),
                    validator,
                    concurrency,
                    stats: CommandStats::new(),
                },
            );
        }
        let mut names: Vec<&'static str> = entries.keys().copied().collect();
        names.sort_unstable();
        Ok(Registry { entries, names })
    }
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
        let registry = RegistryBuilder::new().with_registered().build().unwrap();
        assert!(registry.get("ping").is_some());
        for entry in registry.entries() {
            assert_eq!(entry.descriptor().name, entry.command().name());
            assert!(entry.descriptor().params_schema.is_object());
        }
    }
}
