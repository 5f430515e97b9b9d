//! The one trait every provider implements.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::config::ProviderKind;
use crate::error::InferenceError;
use crate::request::GenerateRequest;
use crate::response::{GenerateResponse, StreamEvent};

/// A streamed generation: text and reasoning deltas, then exactly one
/// [`StreamEvent::Done`] — or an error, after which nothing follows.
pub type EventStream = BoxStream<'static, Result<StreamEvent, InferenceError>>;

/// A named inference provider. Object safe: the daemon holds
/// `Arc<dyn InferenceAdapter>` per provider.
///
/// Both forms apply the reasoning split ([`crate::reasoning`]) before
/// anything leaves the adapter: `text` never carries reasoning.
pub trait InferenceAdapter: Send + Sync {
    /// The provider's configured name.
    fn provider(&self) -> &str;

    /// The wire protocol it speaks.
    fn kind(&self) -> ProviderKind;

    /// Generates a whole response.
    fn generate(
        &self,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<GenerateResponse, InferenceError>>;

    /// Starts a streamed generation. Resolves once the provider has accepted
    /// the request (errors up to then, including retries, surface here);
    /// the final `Done` carries what [`InferenceAdapter::generate`] would
    /// have returned for the same output.
    fn generate_stream(
        &self,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<EventStream, InferenceError>>;
}
