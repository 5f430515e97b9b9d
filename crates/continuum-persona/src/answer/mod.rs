//! The responder: watches every room and has the addressed personas answer.
//!
//! For each posted message: who answers ([`address`]), whether the chain's
//! hop budget and the persona's rate allow it ([`budget`]), then, under a
//! daemon-wide bound on concurrent inference, one answer per persona:
//! context ([`context`]) -> inference with the persona's tools ([`tools`]),
//! each tool call made *as the persona* through the kernel (gated, audited,
//! validated, limited) -> clean text to the room. Reasoning never reaches the
//! room: the adapter separates it and it is kept in the answer record, which
//! only the owner reads. An answer that is empty once reasoning is removed
//! posts nothing and is recorded.

pub mod address;
pub mod budget;
pub mod context;
pub mod tools;

use crate::rooms::Rooms;
use crate::roster::{LivePersona, Roster};
use address::{responders, Member};
use budget::{Chains, RateLimiter};
use context::{build_messages, ContextInput};
use continuum_inference::{
    GenerateRequest, InferenceError, Message, ProviderRegistry, Role, ToolCall,
};
use continuum_kernel::{PersonaMint, Request, Session};
use continuum_store::{
    new_id, AnswerOutcome, AnswerRecord, Author, AuthorKind, ChatMessage, MemoryStore, NewMessage,
    PersonaMeta, Room, TokenUsage, ToolCallRecord,
};
use continuum_wire::{CommandDescriptor, RpcError, Trust};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tools::Toolbox;

/// Longest tool result fed back to the model, in bytes.
const MAX_TOOL_RESULT_BYTES: usize = 4096;

/// Most tool calls run in one round; the rest are answered with an error.
const MAX_CALLS_PER_ROUND: usize = 8;

/// How personas answer (`[personas]` in `config.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerSettings {
    /// Answers being generated at once, across all personas.
    pub max_concurrent_answers: usize,
    /// Sustained answers per minute per persona.
    pub answers_per_minute: u32,
    /// Answers a persona may give at once before the rate applies.
    pub answer_burst: u32,
    /// Most tool-calling rounds in one answer.
    pub max_tool_steps: u32,
    /// Most tokens of room history in the prompt.
    pub history_tokens: usize,
    /// Most messages of room history read for the prompt.
    pub history_messages: usize,
    /// Most tokens generated per step.
    pub max_answer_tokens: u32,
    /// Memories recalled into the prompt.
    pub recall_limit: usize,
    /// Sampling temperature; the provider's default when absent.
    pub temperature: Option<f32>,
    /// Longest one answer may take, model and tools included, in seconds.
    pub answer_timeout_secs: u64,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        AnswerSettings {
            max_concurrent_answers: 2,
            answers_per_minute: 20,
            answer_burst: 5,
            max_tool_steps: 4,
            history_tokens: 1024,
            history_messages: 50,
            max_answer_tokens: 256,
            recall_limit: 3,
            temperature: None,
            answer_timeout_secs: 120,
        }
    }
}

/// Everything the responder works with.
pub struct Responder {
    roster: Arc<Roster>,
    rooms: Arc<Rooms>,
    memories: Arc<dyn MemoryStore>,
    providers: Arc<ProviderRegistry>,
    mint: PersonaMint,
    settings: AnswerSettings,
    chains: Mutex<Chains>,
    limiter: Mutex<RateLimiter>,
    slots: Semaphore,
    /// Answers in progress, so shutdown can end them and wait for them.
    answers: TaskTracker,
    /// Tool lists by trust. For a persona caller the admit rule depends on
    /// its trust alone and the catalog is fixed once the daemon runs, so one
    /// `commands/list` per trust level is exact.
    toolboxes: Mutex<HashMap<Trust, Arc<Toolbox>>>,
    stopping: CancellationToken,
}

/// What one answer produced before it was posted.
struct Drafted {
    /// Time spent waiting on the model.
    inference: Duration,
    text: String,
    reasoning: Option<String>,
    model: String,
    usage: TokenUsage,
    tool_calls: Vec<ToolCallRecord>,
    detail: Option<String>,
}

impl Responder {
    /// The tools of a persona with `trust` (listed once per trust level).
    async fn toolbox(&self, session: &Session, trust: Trust) -> Arc<Toolbox> {
        if let Some(cached) = self.toolboxes.lock().expect("toolbox lock").get(&trust) {
            return Arc::clone(cached);
        }
        match list_tools(session).await {
            Some(toolbox) => {
                let toolbox = Arc::new(toolbox);
                self.toolboxes
                    .lock()
                    .expect("toolbox lock")
                    .insert(trust, Arc::clone(&toolbox));
                toolbox
            }
            None => Arc::new(Toolbox::default()),
        }
    }

    /// A responder acting through `mint` (which can only make persona callers).
    pub fn new(
        roster: Arc<Roster>,
        rooms: Arc<Rooms>,
        memories: Arc<dyn MemoryStore>,
        providers: Arc<ProviderRegistry>,
        mint: PersonaMint,
        settings: AnswerSettings,
    ) -> Arc<Responder> {
        Arc::new(Responder {
            limiter: Mutex::new(RateLimiter::new(
                settings.answer_burst,
                settings.answers_per_minute,
            )),
            slots: Semaphore::new(settings.max_concurrent_answers.max(1)),
            chains: Mutex::new(Chains::default()),
            answers: TaskTracker::new(),
            toolboxes: Mutex::new(HashMap::new()),
            stopping: CancellationToken::new(),
            roster,
            rooms,
            memories,
            providers,
            mint,
            settings,
        })
    }

    /// Answers messages until `shutdown`; then ends the answers in progress
    /// (an unfinished answer posts nothing) and waits for them.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut bus = self.rooms.subscribe();
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => {
                    self.stopping.cancel();
                    self.answers.close();
                    self.answers.wait().await;
                    return;
                }
                received = bus.recv() => received,
            };
            match message {
                Ok(message) => self.on_message(message).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "the responder fell behind; some messages get no answer"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Starts an answer from every persona that should answer `message`.
    pub async fn on_message(self: &Arc<Self>, message: Arc<ChatMessage>) {
        // A persona's message is answered only inside a chain a person
        // started: what a persona posts with `chat/send` starts none.
        if message.author.kind == AuthorKind::Persona
            && !self
                .chains
                .lock()
                .expect("chains lock")
                .is_chained(message.id)
        {
            return;
        }
        let room = match self.rooms.store().room(&message.room_id).await {
            Ok(Some(room)) => room,
            Ok(None) => return,
            Err(err) => {
                tracing::error!(error = %err, room = %message.room_id, "cannot read a room to answer in it");
                return;
            }
        };
        let live: Vec<Arc<LivePersona>> = room
            .members
            .iter()
            .filter(|id| self.rooms.heard(id, &message))
            .filter_map(|id| self.roster.live(id))
            // A Blocked persona may call nothing, its model included.
            .filter(|persona| persona.trust() != Trust::Blocked)
            .collect();
        let members: Vec<Member<'_>> = live
            .iter()
            .map(|persona| Member {
                id: persona.id(),
                name: persona.name(),
            })
            .collect();
        let chosen: Vec<String> = responders(&members, &message.author, &message.text)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for id in chosen {
            let Some(persona) = live.iter().find(|p| p.id() == id).cloned() else {
                continue;
            };
            let root = self.chains.lock().expect("chains lock").root_of(message.id);
            if !self
                .chains
                .lock()
                .expect("chains lock")
                .has_room(root, room.hop_budget)
            {
                tracing::info!(persona = %id, room = %room.name, "hop budget spent; not answering");
                continue;
            }
            // The rate before the reservation: a flood of messages a persona
            // may not answer never touches the chains.
            if !self
                .limiter
                .lock()
                .expect("limiter lock")
                .try_take(&id, Instant::now())
            {
                tracing::warn!(persona = %id, "persona over its answer rate; not answering");
                continue;
            }
            if !self
                .chains
                .lock()
                .expect("chains lock")
                .reserve(root, room.hop_budget)
            {
                continue;
            }
            let this = Arc::clone(self);
            let (room, message) = (room.clone(), Arc::clone(&message));
            let stopping = self.stopping.clone();
            self.answers.spawn(async move {
                tokio::select! {
                    () = stopping.cancelled() => {}
                    () = this.answer(persona, room, message, root) => {}
                }
            });
        }
    }

    /// One persona's answer to one message, posted or recorded as not.
    async fn answer(
        &self,
        persona: Arc<LivePersona>,
        room: Room,
        trigger: Arc<ChatMessage>,
        root: u64,
    ) {
        let Ok(_slot) = self.slots.acquire().await else {
            return;
        };
        let answer_id = new_id();
        let started = Instant::now();
        let deadline = Duration::from_secs(self.settings.answer_timeout_secs.max(1));
        let drafted = tokio::time::timeout(deadline, self.draft(&persona, &room, &trigger))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the answer took longer than {} s (model and tools together)",
                    deadline.as_secs()
                ))
            });
        let mut inference = Duration::ZERO;
        let mut record = AnswerRecord {
            id: answer_id.clone(),
            persona_id: persona.id().to_owned(),
            room_id: room.id.clone(),
            trigger_id: trigger.id,
            outcome: AnswerOutcome::Failed,
            message_id: None,
            reasoning: None,
            model: String::new(),
            usage: TokenUsage::default(),
            tool_calls: Vec::new(),
            detail: None,
            at_ms: 0,
            inference_us: 0,
            pipeline_us: 0,
        };
        match drafted {
            Ok(drafted) => {
                inference = drafted.inference;
                record.reasoning = drafted.reasoning;
                record.model = drafted.model.clone();
                record.usage = drafted.usage;
                record.tool_calls = drafted.tool_calls;
                if drafted.text.is_empty() {
                    record.outcome = AnswerOutcome::Empty;
                    record.detail = Some(drafted.detail.unwrap_or_else(|| {
                        "the answer was empty once its reasoning was removed".into()
                    }));
                } else {
                    let posted = self
                        .rooms
                        .store()
                        .append(NewMessage {
                            room_id: room.id.clone(),
                            author: Author {
                                kind: AuthorKind::Persona,
                                id: persona.id().to_owned(),
                                name: persona.name().to_owned(),
                            },
                            text: drafted.text,
                            hop: trigger.hop + 1,
                            reply_to: Some(trigger.id),
                            persona: Some(PersonaMeta {
                                model: drafted.model,
                                usage: drafted.usage,
                                answer_id,
                            }),
                        })
                        .await;
                    match posted {
                        Ok(posted) => {
                            // Chained before anyone hears of it, so the
                            // personas it addresses may answer it.
                            self.chains
                                .lock()
                                .expect("chains lock")
                                .posted(posted.id, root);
                            self.rooms.announce(&posted);
                            record.outcome = AnswerOutcome::Posted;
                            record.message_id = Some(posted.id);
                        }
                        Err(err) => {
                            record.detail = Some(format!("posting the answer failed: {err}"))
                        }
                    }
                }
            }
            Err(detail) => record.detail = Some(detail),
        }
        if record.outcome != AnswerOutcome::Posted {
            self.chains.lock().expect("chains lock").release(root);
            tracing::warn!(persona = %persona.id(), outcome = ?record.outcome, detail = ?record.detail, "persona posted nothing");
        }
        record.at_ms = continuum_kernel::clock::now_ms();
        record.inference_us = inference.as_micros() as u64;
        record.pipeline_us = started.elapsed().saturating_sub(inference).as_micros() as u64;
        if let Err(err) = self.rooms.store().record_answer(record).await {
            tracing::error!(error = %err, "could not record an answer");
        }
    }

    /// Context, inference and tool rounds; the text to post (maybe empty).
    async fn draft(
        &self,
        persona: &LivePersona,
        room: &Room,
        trigger: &ChatMessage,
    ) -> Result<Drafted, String> {
        let record = persona.record();
        let adapter = self
            .providers
            .get(&record.provider)
            .map_err(|err| err.to_string())?;
        let session = self.mint.session(record.id.clone(), record.trust);
        let toolbox = self.toolbox(&session, record.trust).await;
        let mut history = self
            .rooms
            .store()
            .history(&room.id, None, self.settings.history_messages)
            .await
            .map_err(|err| err.to_string())?;
        history.retain(|message| message.id <= trigger.id);
        if history.last().map(|m| m.id) != Some(trigger.id) {
            history.push(trigger.clone());
        }
        let memories = self
            .memories
            .recall(
                &record.id,
                &without_mentions(&trigger.text),
                self.settings.recall_limit,
            )
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "recall failed; answering without memories");
                Vec::new()
            });
        let messages = build_messages(&ContextInput {
            persona_id: &record.id,
            persona_name: &record.name,
            system_prompt: &record.system_prompt,
            room_name: &room.name,
            history: &history,
            memories: &memories,
            history_tokens: self.settings.history_tokens,
        });
        let mut request = GenerateRequest::new(messages);
        request.model = record.model.clone();
        request.thinking = Some(persona.thinking());
        request.max_tokens = Some(self.settings.max_answer_tokens);
        request.temperature = self.settings.temperature;
        request.tools = toolbox.specs().to_vec();
        // The provider's key is released to this persona (its wallet, then
        // the shared one), audited, for this answer only.
        request.on_behalf = Some(continuum_inference::CredentialActor {
            label: format!("persona:{}", record.id),
            wallet: Some(continuum_store::persona_wallet(&record.id)),
        });

        let mut drafted = Drafted {
            inference: Duration::ZERO,
            text: String::new(),
            reasoning: None,
            model: String::new(),
            usage: TokenUsage::default(),
            tool_calls: Vec::new(),
            detail: None,
        };
        let mut reasoning = Vec::new();
        for step in 0..=self.settings.max_tool_steps {
            let asked = Instant::now();
            let mut response = adapter.generate(request.clone()).await;
            if step == 0 && !request.tools.is_empty() && refused_tools(&response) {
                // Many local models (and Ollama for them) reject a request
                // with tools outright; answer without rather than not at all.
                tracing::warn!(persona = %record.name, provider = %record.provider, "the provider refused tools; answering without them");
                request.tools.clear();
                response = adapter.generate(request.clone()).await;
            }
            drafted.inference += asked.elapsed();
            let response = response.map_err(|err| err.to_string())?;
            drafted.model = response.model;
            drafted.usage.prompt_tokens += response.usage.prompt_tokens;
            drafted.usage.completion_tokens += response.usage.completion_tokens;
            reasoning.extend(response.reasoning);
            drafted.text = response.text.trim().to_owned();
            if response.tool_calls.is_empty() {
                break;
            }
            if step == self.settings.max_tool_steps {
                drafted.detail = Some(format!(
                    "the model still wanted tools after {} rounds",
                    self.settings.max_tool_steps
                ));
                break;
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: response.text,
                tool_call_id: None,
                tool_calls: response.tool_calls.clone(),
            });
            for (index, call) in response.tool_calls.iter().enumerate() {
                let content = if index < MAX_CALLS_PER_ROUND {
                    let (content, call_record) = run_tool(&session, &toolbox, call).await;
                    drafted.tool_calls.push(call_record);
                    content
                } else {
                    json!({"error": {"code": "overloaded", "message": format!("at most {MAX_CALLS_PER_ROUND} tool calls per round; call the rest next round")}}).to_string()
                };
                request
                    .messages
                    .push(Message::tool_result(call.id.clone(), content));
            }
        }
        drafted.reasoning = (!reasoning.is_empty()).then(|| reasoning.join("\n\n"));
        Ok(drafted)
    }
}

/// The persona's tools: `commands/list` called as the persona, so the list
/// is exactly what the gate admits for it.
async fn list_tools(session: &Session) -> Option<Toolbox> {
    #[derive(Deserialize)]
    struct Listed {
        commands: Vec<CommandDescriptor>,
    }
    let listed = session
        .call(Request::new("commands/list", json!({})))
        .await
        .map_err(|err| err.to_string())
        .and_then(|value| serde_json::from_value::<Listed>(value).map_err(|err| err.to_string()));
    match listed {
        Ok(listed) => Some(Toolbox::new(listed.commands)),
        Err(err) => {
            tracing::warn!(error = %err, "could not list a persona's tools; answering without");
            None
        }
    }
}

/// The message with its `@name` mentions removed: who is addressed says
/// nothing about what to recall.
fn without_mentions(text: &str) -> String {
    text.split_whitespace()
        .filter(|word| !word.starts_with('@'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one tool call as the persona. Whatever happens, the model gets a
/// result: the command's output, or the error (code, field, message).
async fn run_tool(
    session: &Session,
    toolbox: &Toolbox,
    call: &ToolCall,
) -> (String, ToolCallRecord) {
    let command = toolbox.command(&call.name);
    let params = match &call.arguments {
        Value::Object(_) => call.arguments.clone(),
        Value::Null => json!({}),
        _ => {
            let error = json!({"error": {"code": "invalid_params", "message": "tool arguments must be a JSON object"}});
            return (
                error.to_string(),
                ToolCallRecord {
                    command,
                    ok: false,
                    error: Some("invalid_params".into()),
                },
            );
        }
    };
    match session.call(Request::new(command.clone(), params)).await {
        Ok(value) => (
            truncate(value.to_string()),
            ToolCallRecord {
                command,
                ok: true,
                error: None,
            },
        ),
        Err(err) => {
            let rpc = RpcError::from(err);
            let data = rpc.data.as_deref();
            let kind = data.map_or("error", |data| data.kind.as_str()).to_owned();
            let mut error = json!({"code": kind, "message": rpc.message});
            if let Some(field) = data.and_then(|data| data.field.as_ref()) {
                error["field"] = json!(field);
            }
            (
                truncate(json!({ "error": error }).to_string()),
                ToolCallRecord {
                    command,
                    ok: false,
                    error: Some(kind),
                },
            )
        }
    }
}

/// Whether a provider rejected the request itself (400 or 422), which for a
/// request with tools usually means "this model does not support tools".
fn refused_tools(response: &Result<continuum_inference::GenerateResponse, InferenceError>) -> bool {
    matches!(
        response,
        Err(InferenceError::Http {
            status: 400 | 422,
            ..
        } | InferenceError::InvalidRequest { .. })
    )
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_TOOL_RESULT_BYTES {
        let mut cut = MAX_TOOL_RESULT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("…(truncated)");
    }
    text
}
