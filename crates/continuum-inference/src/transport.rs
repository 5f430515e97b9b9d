//! The HTTP edge shared by the adapters: one reqwest client per provider,
//! authentication, the retry loop, error mapping, and the driver that turns
//! an SSE body into [`StreamEvent`]s.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;

use crate::adapter::EventStream;
use crate::config::{ConfigError, CredentialActor, CredentialSource, ProviderConfig, Secret};
use crate::error::{body_excerpt, status_hint, InferenceError};
use crate::response::StreamEvent;
use crate::retry::{is_retryable_status, parse_retry_after, RetryDecision, RetryPolicy};
use crate::sse::{SseEvent, SseParser};
use continuum_egress::{AllowAll, EgressPolicy};
use std::sync::Arc;

/// How the key is presented.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI-compatible).
    Bearer,
    /// `x-api-key: KEY` (Anthropic).
    XApiKey,
}

/// One provider's HTTP side.
pub(crate) struct Transport {
    pub provider: String,
    pub base_url: String,
    client: reqwest::Client,
    timeout: Duration,
    read_timeout: Duration,
    retry: RetryPolicy,
    auth: Auth,
    credential: Option<String>,
    credentials: Arc<dyn CredentialSource>,
    egress: Arc<dyn EgressPolicy>,
    extra_headers: HeaderMap,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(
        config: &ProviderConfig,
        credentials: Arc<dyn CredentialSource>,
        auth: Auth,
        extra_headers: HeaderMap,
    ) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("continuum-inference/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient {
                provider: config.name.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            provider: config.name.clone(),
            base_url: config.base_url.clone(),
            client,
            timeout: config.timeout,
            read_timeout: config.read_timeout,
            retry: config.retry,
            auth,
            credential: config.credential.clone(),
            credentials,
            egress: Arc::new(AllowAll),
            extra_headers,
        })
    }

    /// Connections are checked against `egress` first.
    pub(crate) fn set_egress(&mut self, egress: Arc<dyn EgressPolicy>) {
        self.egress = egress;
    }

    /// Asks the egress policy before any connection to `url`.
    fn check_egress(&self, url: &str) -> Result<(), InferenceError> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        self.egress
            .check(&self.provider, &host)
            .map_err(|denied| InferenceError::EgressDenied {
                provider: self.provider.clone(),
                host: denied.host,
            })
    }

    /// The request's headers, with the credential resolved now, for this
    /// request and this actor; the plaintext lives in the header value only
    /// (marked sensitive) and is zeroed when the resolved secret drops.
    async fn auth_headers(
        &self,
        actor: Option<&CredentialActor>,
    ) -> Result<(HeaderMap, Option<Secret>), InferenceError> {
        let mut headers = self.extra_headers.clone();
        let Some(name) = &self.credential else {
            return Ok((headers, None));
        };
        let secret = self
            .credentials
            .resolve(name, &self.provider, actor)
            .await
            .map_err(|reason| InferenceError::CredentialRefused {
                provider: self.provider.clone(),
                credential: name.clone(),
                reason,
            })?
            .ok_or_else(|| InferenceError::MissingCredential {
                provider: self.provider.clone(),
                credential: name.clone(),
            })?;
        // The formatted value is zeroed too; only the header's own copy
        // (marked sensitive) outlives this function.
        let (header, value) = match self.auth {
            Auth::Bearer => (
                reqwest::header::AUTHORIZATION,
                zeroize::Zeroizing::new(format!("Bearer {}", secret.expose())),
            ),
            Auth::XApiKey => (
                HeaderName::from_static("x-api-key"),
                zeroize::Zeroizing::new(secret.expose().to_owned()),
            ),
        };
        let mut value =
            HeaderValue::from_str(&value).map_err(|_| InferenceError::InvalidRequest {
                provider: self.provider.clone(),
                message: format!(
                    "the credential '{name}' contains characters not allowed in a header"
                ),
            })?;
        value.set_sensitive(true);
        headers.insert(header, value);
        Ok((headers, Some(secret)))
    }

    /// POSTs `body` to `url`, retrying per the policy; returns a response with
    /// a success status whose body has not been read. For streams no overall
    /// timeout applies (only the read timeout between chunks).
    pub(crate) async fn post(
        &self,
        url: &str,
        body: &serde_json::Value,
        streaming: bool,
        actor: Option<&CredentialActor>,
    ) -> Result<reqwest::Response, InferenceError> {
        // Egress first: a refused host gets neither a connection nor a key.
        // The secret then lives until this request is answered (to scrub it
        // from an error body that echoes it), and is zeroed.
        self.check_egress(url)?;
        let (headers, secret) = self.auth_headers(actor).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.client.post(url).headers(headers.clone()).json(body);
            if !streaming {
                request = request.timeout(self.timeout);
            }
            let failure = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    if is_retryable_status(status) {
                        if let RetryDecision::RetryAfter(wait) =
                            self.retry.decide(attempt, retry_after)
                        {
                            tracing::warn!(provider = %self.provider, status, attempt, ?wait, "retrying");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    if status == 429 {
                        return Err(InferenceError::RateLimited {
                            provider: self.provider.clone(),
                            retry_after,
                            attempts: attempt,
                        });
                    }
                    let text = response.text().await.unwrap_or_default();
                    return Err(InferenceError::Http {
                        provider: self.provider.clone(),
                        status,
                        body_excerpt: body_excerpt(&text, secret.as_ref().map(Secret::expose)),
                        hint: status_hint(status, self.credential.as_deref(), &self.base_url),
                    });
                }
                Err(e) => e,
            };
            if failure.is_connect() {
                if let RetryDecision::RetryAfter(wait) = self.retry.decide(attempt, None) {
                    tracing::warn!(provider = %self.provider, attempt, ?wait, "connect failed; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(self.send_error(failure));
        }
    }

    /// Maps a transport error of sending a request.
    fn send_error(&self, e: reqwest::Error) -> InferenceError {
        if e.is_timeout() && !e.is_connect() {
            return InferenceError::Timeout {
                provider: self.provider.clone(),
                endpoint: self.base_url.clone(),
                after: self.timeout,
            };
        }
        InferenceError::Connect {
            provider: self.provider.clone(),
            endpoint: self.base_url.clone(),
            detail: error_chain(e),
        }
    }

    /// Maps an error while reading a body.
    pub(crate) fn body_error(&self, e: reqwest::Error) -> InferenceError {
        if e.is_timeout() {
            InferenceError::Timeout {
                provider: self.provider.clone(),
                endpoint: self.base_url.clone(),
                after: self.timeout,
            }
        } else {
            InferenceError::StreamDropped {
                provider: self.provider.clone(),
                detail: error_chain(e),
            }
        }
    }

    /// Drives an SSE body through `decoder` into an event stream.
    pub(crate) fn sse_stream<D: SseDecoder>(
        &self,
        response: reqwest::Response,
        decoder: D,
    ) -> EventStream {
        let driver = Driver {
            response,
            parser: SseParser::default(),
            decoder,
            queue: VecDeque::new(),
            ended: false,
            provider: self.provider.clone(),
            endpoint: self.base_url.clone(),
            read_timeout: self.read_timeout,
        };
        stream::unfold(Some(driver), |state| async move {
            let mut driver = state?;
            loop {
                if let Some(item) = driver.queue.pop_front() {
                    let last = matches!(item, Err(_) | Ok(StreamEvent::Done(_)));
                    return Some((item, if last { None } else { Some(driver) }));
                }
                if driver.ended {
                    return None;
                }
                driver.read_more().await;
            }
        })
        .boxed()
    }
}

/// Decodes a JSON body, or says what was wrong with it.
pub(crate) fn decode_json<T: DeserializeOwned>(
    provider: &str,
    bytes: &[u8],
) -> Result<T, InferenceError> {
    serde_json::from_slice(bytes).map_err(|e| InferenceError::Decode {
        provider: provider.to_owned(),
        detail: format!(
            "{e}; body starts: {}",
            body_excerpt(
                &String::from_utf8_lossy(&bytes[..bytes.len().min(200)]),
                None
            )
        ),
    })
}

fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// What an SSE event meant to the adapter reading it.
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// The provider said the answer is complete.
    Finished,
}

/// Turns one wire format's SSE events into stream events.
pub(crate) trait SseDecoder: Send + 'static {
    /// Handles an event, pushing deltas to `out`.
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Flow, InferenceError>;
    /// Whether the body may end here without the end marker (the answer is
    /// complete, only the marker is missing).
    fn complete_without_marker(&self) -> bool;
    /// Flushes the remaining deltas and the final `Done`.
    fn finish(&mut self, out: &mut Vec<StreamEvent>);
}

struct Driver<D> {
    response: reqwest::Response,
    parser: SseParser,
    decoder: D,
    queue: VecDeque<Result<StreamEvent, InferenceError>>,
    ended: bool,
    provider: String,
    endpoint: String,
    read_timeout: Duration,
}

impl<D: SseDecoder> Driver<D> {
    async fn read_more(&mut self) {
        match self.response.chunk().await {
            Ok(Some(bytes)) => {
                let events = self.parser.push(&bytes);
                self.handle(events);
            }
            Ok(None) => {
                let last = self.parser.finish();
                self.handle(last.into_iter().collect());
                if self.ended {
                    return;
                }
                self.ended = true;
                if self.decoder.complete_without_marker() {
                    let mut out = Vec::new();
                    self.decoder.finish(&mut out);
                    self.queue.extend(out.into_iter().map(Ok));
                } else {
                    self.queue.push_back(Err(InferenceError::StreamDropped {
                        provider: self.provider.clone(),
                        detail: "the connection closed before the end-of-stream marker".into(),
                    }));
                }
            }
            Err(e) => {
                self.ended = true;
                self.queue.push_back(Err(if e.is_timeout() {
                    InferenceError::Timeout {
                        provider: self.provider.clone(),
                        endpoint: self.endpoint.clone(),
                        after: self.read_timeout,
                    }
                } else {
                    InferenceError::StreamDropped {
                        provider: self.provider.clone(),
                        detail: error_chain(e),
                    }
                }));
            }
        }
    }

    fn handle(&mut self, events: Vec<SseEvent>) {
        for event in events {
            if self.ended {
                return;
            }
            let mut out = Vec::new();
            let flow = self.decoder.on_event(event, &mut out);
            self.queue.extend(out.into_iter().map(Ok));
            match flow {
                Ok(Flow::Continue) => {}
                Ok(Flow::Finished) => {
                    let mut out = Vec::new();
                    self.decoder.finish(&mut out);
                    self.queue.extend(out.into_iter().map(Ok));
                    self.ended = true;
                }
                Err(e) => {
                    self.queue.push_back(Err(e));
                    self.ended = true;
                }
            }
        }
    }
}
