//! Type erasure: any [`Command`] becomes an `Arc<dyn DynCommand>` the registry
//! can hold in one map and route to by name.

use super::{Command, CommandError, Ctx, Limits};
use continuum_wire::{Access, CommandDescriptor};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe face of a command. Implemented for every [`Command`] by
/// [`erase`]; nobody implements it by hand.
pub trait DynCommand: Send + Sync + 'static {
    /// The command's name.
    fn name(&self) -> &'static str;
    /// Who may call it.
    fn access(&self) -> Access;
    /// Timeout and concurrency limit.
    fn limits(&self) -> Limits;
    /// The Rust type that implements it (named in duplicate-name errors).
    fn origin(&self) -> &'static str;
    /// Derives the descriptor, schemas included. Called once, at registry build.
    fn descriptor(&self) -> CommandDescriptor;
    /// Deserializes already-validated params, runs, serializes the output.
    fn invoke(&self, ctx: Ctx, params: Value) -> BoxFuture<'_, Result<Value, CommandError>>;
}

struct Erased<C>(C);

/// Erases a command into its routable object.
pub fn erase<C: Command>(command: C) -> Arc<dyn DynCommand> {
    Arc::new(Erased(command))
}

impl<C: Command> DynCommand for Erased<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }

    fn access(&self) -> Access {
        C::ACCESS
    }

    fn limits(&self) -> Limits {
        C::LIMITS
    }

    fn origin(&self) -> &'static str {
        std::any::type_name::<C>()
    }

    fn descriptor(&self) -> CommandDescriptor {
        CommandDescriptor {
            name: C::NAME.to_owned(),
            description: C::DESCRIPTION.to_owned(),
            access: C::ACCESS,
            params_schema: schemars::schema_for!(C::Params).to_value(),
            result_schema: schemars::schema_for!(C::Output).to_value(),
            streaming: C::STREAMING,
        }
    }

    fn invoke(&self, ctx: Ctx, params: Value) -> BoxFuture<'_, Result<Value, CommandError>> {
        Box::pin(async move {
            // The schema already accepted these params; a failure here means the
            // schema and the serde type disagree, which is still the caller's input.
            let params: C::Params = serde_json::from_value(params)
                .map_err(|err| CommandError::invalid_params("", err.to_string()))?;
            let output = self.0.run(ctx, params).await?;
            serde_json::to_value(output).map_err(|err| {
                CommandError::Internal(format!("{}: result did not serialize: {err}", C::NAME))
            })
        })
    }
}
