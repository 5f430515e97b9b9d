//! Type erasure: any [`Command`] becomes an [`ErasedCommand`] the registry
//! can hold in one map and route to by name.
//!
//! The erased object is opaque: its `invoke` is crate-private, so nothing
//! outside the kernel can run a command except through the dispatcher.

use super::{Command, CommandError, Ctx, Limits};
use continuum_wire::CommandDescriptor;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe face of a command. Private to the kernel: implemented for
/// every [`Command`] by [`erase`], reachable only by the dispatcher.
pub(crate) trait DynCommand: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn limits(&self) -> Limits;
    fn origin(&self) -> &'static str;
    fn descriptor(&self) -> CommandDescriptor;
    fn invoke(&self, ctx: Ctx, params: Value) -> BoxFuture<'_, Result<Value, CommandError>>;
}

/// A command ready to be registered. Opaque: it can be handed to a
/// [`RegistryBuilder`](super::RegistryBuilder) and nothing else.
#[derive(Clone)]
pub struct ErasedCommand(pub(crate) Arc<dyn DynCommand>);

impl ErasedCommand {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

struct Erased<C>(C);

/// Erases a command into its routable object.
pub fn erase<C: Command>(command: C) -> ErasedCommand {
    ErasedCommand(Arc::new(Erased(command)))
}

impl<C: Command> DynCommand for Erased<C> {
    fn name(&self) -> &'static str {
        C::NAME
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
            destructive: C::DESTRUCTIVE,
            read_only: C::READ_ONLY,
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
