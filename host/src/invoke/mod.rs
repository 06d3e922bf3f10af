//! The invocation path (DESIGN.md, "Invocation, step by step"): check the plan, validate the
//! arguments, build and send the request, shape the answer, record the call.
//!
//! Every tool-level failure comes back as an ordinary [`InvocationResult`] with `ok: false`
//! and a stable [`ErrorKind`] — the model reads it and recovers. Protocol problems (bad key,
//! unknown tool) are the API layer's business and never reach this module.

pub mod limits;
pub mod result;

use std::{
    borrow::Cow,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

pub use result::{ErrorKind, InvocationResult, Timings, ToolError};

use crate::{
    api::tools::{SIGNING_SECRET, header_secret},
    calllog::redact,
    clock,
    ids::{CallId, ComponentId},
    plugin::{Hook, HookCall, HookFailure, HookRun, Loaded, LogLine, convert, types},
    secrets::{Binding, OpenError},
    state::AppState,
    store::CallRecord,
    tenant::Tenant,
    tool::ToolSpec,
    tool::{Attachment, FailurePolicy, Tool, args, model::Agent},
    webhook::{OutboundRequest, WebhookError, WebhookResponse, request, signing},
};

/// The longest call or conversation id accepted.
pub const MAX_CALL_ID: usize = 128;
/// How much of a response body the call log keeps.
const LOG_EXCERPT_BYTES: usize = 2048;
/// Largest call-log `detail` kept, in bytes of JSON. Everything else in it is capped on its
/// own (excerpt, refusal, error message, plugin lines), so only the arguments can pass it:
/// then they are left out and the record says how large they were.
pub const MAX_LOG_DETAIL_BYTES: usize = 64 * 1024;

/// `POST /v1/agents/{agent}/invoke`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// The tool's function id, e.g. `check_availability_in_area`.
    pub tool: String,
    /// The arguments the model collected, as a JSON object (anything else is answered with
    /// an `invalid_arguments` result).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// An idempotency key for this call, sent to the endpoint as `Switchboard-Call-Id`
    /// (`[A-Za-z0-9._:-]{1,128}`); generated when absent.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The conversation this call belongs to, for the call log.
    #[serde(default)]
    pub conversation_id: Option<String>,
}

/// Whether a call is live or a "try it" run from the tenant's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Made by the agent runtime.
    Live,
    /// Made with `POST /v1/tools/{id}/test`; marked as a test in the log.
    Test,
}

/// Whether `id` is acceptable as a call or conversation id.
pub fn is_valid_call_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CALL_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Runs `tool` for `tenant` as `agent` would, records the call, and returns the result.
/// The caller has already authenticated, found the tool and checked its agent target.
pub async fn invoke(
    state: &AppState,
    tenant: &Tenant,
    agent: Agent,
    tool: &Tool,
    req: InvokeRequest,
    mode: Mode,
) -> InvocationResult {
    let started = Instant::now();
    let call_id = req.call_id.clone().unwrap_or_else(|| CallId::generate().0);
    let created_at = clock::now_rfc3339();
    let created_ms = clock::now_unix_ms();
    let mut trace = Trace::default();

    let outcome = match state.admission.admit(&tenant.id, tenant.plan) {
        Ok(_admitted) => {
            let call = Call {
                tenant,
                agent,
                tool,
                req: &req,
                call_id: &call_id,
                deadline: started + Duration::from_secs(u64::from(tool.spec.response_timeout_secs)),
            };
            run(state, call, &mut trace).await
        }
        Err(limited) => Err(Failure::new(ErrorKind::RateLimited, limited.to_string())),
    };
    let mut result = InvocationResult {
        call_id: call_id.clone(),
        tool: tool.function_id.clone(),
        ok: false,
        status: trace.status,
        result: Value::Null,
        speech: None,
        disable_interruptions: tool.spec.disable_interruptions,
        error: None,
        timings_ms: Timings {
            total: 0.0,
            transform_params: trace.transform_params_ms,
            webhook: trace.webhook_ms,
            transform_response: trace.transform_response_ms,
        },
    };
    match outcome {
        Ok(Done { value, speech }) => {
            result.ok = true;
            result.result = value;
            result.speech = speech;
        }
        Err(failure) => {
            result.speech = Some(
                failure
                    .speech
                    .unwrap_or_else(|| failure.error.kind.speech().to_owned()),
            );
            result.result = failure.result;
            result.error = Some(failure.error);
        }
    }
    result.timings_ms.total = millis(started);

    state.calls.record(log_record(
        tenant, agent, tool, &req, mode, &result, trace, created_at, created_ms,
    ));
    result
}

/// The call as the log keeps it: everything that happened, with secrets and sensitive
/// arguments replaced (see [`redact`]).
#[allow(clippy::too_many_arguments)]
fn log_record(
    tenant: &Tenant,
    agent: Agent,
    tool: &Tool,
    req: &InvokeRequest,
    mode: Mode,
    result: &InvocationResult,
    trace: Trace,
    created_at: String,
    created_ms: i64,
) -> CallRecord {
    let mut secrets = trace.secrets;
    redact::sensitive_values(&tool.spec, &req.arguments, &mut secrets);
    if let Some(sent) = &trace.sent_arguments {
        redact::sensitive_values(&tool.spec, sent, &mut secrets);
    }
    let mut detail = Detail {
        arguments: redact::arguments(&tool.spec, &req.arguments),
        arguments_sent: trace
            .sent_arguments
            .map(|a| redact::arguments(&tool.spec, &a)),
        request: trace.request,
        error: result.error.as_ref().map(|e| e.message.as_str()),
        refusal: trace.refusal,
        timings_ms: &result.timings_ms,
        response_excerpt: trace.excerpt,
        plugin_logs: trace.logs,
    };
    let mut text = detail_json(&detail, &secrets);
    if text.get().len() > MAX_LOG_DETAIL_BYTES {
        detail.arguments = omitted(&detail.arguments);
        detail.arguments_sent = detail.arguments_sent.as_ref().map(omitted);
        text = detail_json(&detail, &secrets);
    }
    let detail = text;
    CallRecord {
        call_id: result.call_id.clone(),
        created_at,
        agent,
        tool_id: tool.id.clone(),
        tool: tool.function_id.clone(),
        conversation_id: req.conversation_id.clone(),
        test: mode == Mode::Test,
        ok: result.ok,
        status: result.status,
        error_kind: result.error.as_ref().map(|e| e.kind.as_str().to_owned()),
        detail,
        tenant_id: tenant.id.clone(),
        created_ms,
        seq: 0,
    }
}

/// What the call log keeps of `value` when the record would pass its cap: its size.
fn omitted(value: &Value) -> Value {
    let bytes = serde_json::to_vec(value).map_or(0, |v| v.len());
    Value::from(format!(
        "[{bytes} bytes left out: the call log keeps at most {MAX_LOG_DETAIL_BYTES} bytes per call]"
    ))
}

/// `detail` as JSON text: straight when no secret could be in it; otherwise through a value
/// tree, so every string in it can be scrubbed.
fn detail_json(detail: &Detail<'_>, secrets: &redact::Secrets) -> Box<serde_json::value::RawValue> {
    if secrets.is_empty() {
        serde_json::value::to_raw_value(detail)
    } else {
        serde_json::to_value(detail).and_then(|mut value| {
            secrets.scrub_value(&mut value);
            serde_json::value::to_raw_value(&value)
        })
    }
    .expect("a call record serialises")
}

/// The call log's `detail`: everything about the call beyond its columns.
#[derive(Serialize)]
struct Detail<'a> {
    arguments: Value,
    arguments_sent: Option<Value>,
    request: Value,
    error: Option<&'a str>,
    refusal: Option<String>,
    timings_ms: &'a Timings,
    response_excerpt: Option<String>,
    plugin_logs: Vec<LogLine>,
}

/// What happened along the way, for the result and the call log.
#[derive(Default)]
struct Trace {
    status: Option<u16>,
    webhook_ms: Option<f64>,
    transform_params_ms: Option<f64>,
    transform_response_ms: Option<f64>,
    request: Value,
    /// The arguments after a params transform changed them.
    sent_arguments: Option<Value>,
    /// Secret values opened for this call, kept out of the log.
    secrets: redact::Secrets,
    excerpt: Option<String>,
    refusal: Option<String>,
    logs: Vec<LogLine>,
}

/// A successful call: the result and, from a response transform, what to say.
struct Done {
    value: Value,
    speech: Option<String>,
}

/// A failed call: the error, whatever result there is, and words for the caller when a
/// component chose them.
struct Failure {
    error: ToolError,
    result: Value,
    speech: Option<String>,
}

impl Failure {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            error: ToolError::new(kind, message),
            result: Value::Null,
            speech: None,
        }
    }
}

/// One invocation under way: who makes it, of what, and when the tool's response timeout
/// runs out (it covers the transforms and the webhook together).
#[derive(Clone, Copy)]
struct Call<'a> {
    tenant: &'a Tenant,
    agent: Agent,
    tool: &'a Tool,
    req: &'a InvokeRequest,
    call_id: &'a str,
    deadline: Instant,
}

impl Call<'_> {
    /// Who a hook call of this invocation is for, and by when it must be done.
    fn hook(&self) -> HookCall<'_> {
        HookCall {
            tenant: &self.tenant.id.0,
            tool_deadline: self.deadline,
            timeout_secs: self.tool.spec.response_timeout_secs,
        }
    }
}

async fn run(state: &AppState, invocation: Call<'_>, trace: &mut Trace) -> Result<Done, Failure> {
    let Call {
        tenant,
        agent,
        tool,
        req,
        call_id,
        deadline,
    } = invocation;
    tenant
        .plan
        .require(tool.spec.feature())
        .map_err(|m| Failure::new(ErrorKind::PlanRequired, m))?;
    let transforms = &tool.spec.transforms;

    let mut arguments = args::check(&tool.spec, &req.arguments).map_err(|problems| Failure {
        error: ToolError::new(ErrorKind::InvalidArguments, args::summarise(&problems))
            .with_details(problems.listed),
        result: Value::Null,
        speech: None,
    })?;

    let call = |arguments: &args::Arguments| types::Call {
        id: call_id.to_owned(),
        tool: tool.function_id.clone(),
        agent: convert::agent(agent),
        conversation: req.conversation_id.clone(),
        arguments: convert::args_to_wit(arguments),
    };

    if let Some(attachment) = &transforms.params {
        let run = match load(state, tenant, attachment).await {
            Ok(loaded) => {
                let config = Arc::new(attachment.config.clone());
                state
                    .plugins
                    .transform_params(invocation.hook(), None, &loaded, config, call(&arguments))
                    .await
            }
            Err(message) => HookRun::failed(message, 0.0),
        };
        trace.transform_params_ms = Some(run.elapsed_ms);
        trace.logs.extend(run.logs);
        let produced = run.result.and_then(|out| {
            let map = convert::wit_to_args(out).map_err(HookFailure::Failed)?;
            args::check(&tool.spec, &Value::Object(map)).map_err(|problems| {
                HookFailure::Failed(format!(
                    "the params transform produced arguments the tool does not accept: {}",
                    args::summarise(&problems)
                ))
            })
        });
        match produced {
            Ok(transformed) => {
                trace.sent_arguments = Some(Value::Object(transformed.clone()));
                arguments = transformed;
            }
            Err(failure) => {
                if let Some(f) = hook_failure(failure, Hook::Params, attachment, trace) {
                    return Err(f);
                }
            }
        }
    }

    // Secrets are opened here, for this request only.
    let (spec, signing_key) = open_secrets(state, tenant, tool, &mut trace.secrets)
        .map_err(|e| Failure::new(ErrorKind::SecretUnavailable, e.to_string()))?;
    let mut outbound = request::build(
        &spec,
        &arguments,
        &[(
            HeaderName::from_static("switchboard-call-id"),
            call_id.to_owned(),
        )],
    )
    .map_err(|e| Failure::new(ErrorKind::InvalidArguments, e.0))?;
    let mut headers = serde_json::Map::new();
    for header in &spec.headers {
        let value = header.value.as_deref().unwrap_or_default();
        if header.secret {
            trace.secrets.add(value);
        }
        let shown = if header.secret {
            redact::REDACTED
        } else {
            value
        };
        headers.insert(header.name.clone(), Value::from(shown));
    }
    drop(spec);
    if let Some(key) = signing_key {
        sign(&mut outbound, &key, call_id);
    }
    trace.request = json!({
        "method": outbound.method.as_str(),
        "url": redact::url(&outbound.url),
        "headers": headers,
    });

    // The response transform's fresh instance is made while the webhook is in flight (when
    // the sandbox has room to spare), so the caller does not wait for it after the
    // endpoint answers.
    let sent = Instant::now();
    let webhook = async {
        let answer = state
            .webhooks
            .send_by(outbound, deadline, tool.spec.response_timeout_secs)
            .await;
        (answer, millis(sent))
    };
    let ahead = async {
        let attachment = transforms.response.as_ref()?;
        // Let the request go out before the instance is made.
        tokio::task::yield_now().await;
        Some(match load(state, tenant, attachment).await {
            Ok(loaded) => {
                let config = Arc::new(attachment.config.clone());
                let plugins = &state.plugins;
                let fresh =
                    plugins.fresh_ahead(invocation.hook(), Hook::Response, config.clone(), &loaded);
                Ok((fresh.await, loaded, config))
            }
            Err(message) => Err(message),
        })
    };
    let ((answer, webhook_ms), ahead) = tokio::join!(webhook, ahead);
    trace.webhook_ms = Some(webhook_ms);
    let response = answer.map_err(|e| Failure {
        error: webhook_error(e),
        result: Value::Null,
        speech: None,
    })?;
    trace.status = Some(response.status);
    trace.excerpt = Some(excerpt(&response.body));

    if let (Some(attachment), Some(ahead)) = (&transforms.response, ahead) {
        let run = match ahead {
            Ok((fresh, loaded, config)) => {
                let wit_response = types::Response {
                    status: response.status,
                    headers: response
                        .headers
                        .iter()
                        .map(|(name, value)| types::Header {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    body: response.body.clone(),
                };
                state
                    .plugins
                    .transform_response(
                        invocation.hook(),
                        fresh,
                        &loaded,
                        config,
                        call(&arguments),
                        wit_response,
                    )
                    .await
            }
            Err(message) => HookRun::failed(message, 0.0),
        };
        trace.transform_response_ms = Some(run.elapsed_ms);
        trace.logs.extend(run.logs);
        let produced = run.result.and_then(|outcome| {
            serde_json::from_str::<Value>(&outcome.result)
                .map(|value| Done {
                    value,
                    speech: outcome.speech,
                })
                .map_err(|e| {
                    HookFailure::Failed(format!("the response transform's result is not JSON: {e}"))
                })
        });
        match produced {
            Ok(done) => return Ok(done),
            Err(failure) => {
                if let Some(f) = hook_failure(failure, Hook::Response, attachment, trace) {
                    return Err(f);
                }
            }
        }
    }

    let value = body_value(&response);
    if !(200..300).contains(&response.status) {
        return Err(Failure {
            error: status_error(&response),
            result: value,
            speech: None,
        });
    }
    Ok(Done {
        value,
        speech: None,
    })
}

/// The tool's definition with its secret headers opened, and its signing key.
fn open_secrets<'t>(
    state: &AppState,
    tenant: &Tenant,
    tool: &'t Tool,
    opened: &mut redact::Secrets,
) -> Result<(Cow<'t, ToolSpec>, Option<Vec<u8>>), OpenError> {
    let has_secrets =
        tool.spec.signing_secret.is_some() || tool.spec.headers.iter().any(|h| h.secret);
    if !has_secrets {
        return Ok((Cow::Borrowed(&tool.spec), None));
    }
    // Parsed before the copy, so the cached tool keeps it and the copy carries it.
    let _ = tool.spec.fixed_url();
    let mut spec = tool.spec.clone();
    for header in spec.headers.iter_mut().filter(|h| h.secret) {
        if let Some(sealed) = &header.value {
            let name = header_secret(&header.name);
            let binding = Binding {
                tenant: &tenant.id,
                tool: &tool.id,
                name: &name,
            };
            header.value = Some(state.secrets.open(binding, sealed)?);
        }
    }
    let key = match &spec.signing_secret {
        Some(sealed) => {
            let binding = Binding {
                tenant: &tenant.id,
                tool: &tool.id,
                name: SIGNING_SECRET,
            };
            let secret = state.secrets.open(binding, sealed)?;
            opened.add(&secret);
            Some(signing::decode_secret(&secret).map_err(|_| OpenError(SIGNING_SECRET.into()))?)
        }
        None => None,
    };
    Ok((Cow::Owned(spec), key))
}

/// Adds the Standard Webhooks headers over the exact bytes being sent.
fn sign(outbound: &mut OutboundRequest, key: &[u8], call_id: &str) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let body = outbound.body.as_deref().unwrap_or_default();
    let signature = signing::signature(key, call_id, timestamp, body);
    for (name, value) in [
        ("webhook-id", call_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            outbound
                .headers
                .insert(HeaderName::from_static(name), value);
        }
    }
}

/// The component attached, ready to run; a message when it cannot be loaded.
async fn load(
    state: &AppState,
    tenant: &Tenant,
    attachment: &Attachment,
) -> Result<Arc<Loaded>, String> {
    let record = state
        .store
        .component(&tenant.id, &ComponentId(attachment.component.clone()))
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "reading a component record");
            "the component could not be read".to_owned()
        })?
        .ok_or_else(|| format!("component '{}' no longer exists", attachment.component))?;
    let store = state.store.clone();
    let sha256 = record.sha256.clone();
    state
        .plugins
        .load(&record.sha256, async move {
            store
                .component_bytes(&sha256)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .ok_or_else(|| anyhow::anyhow!("the bytes of component {sha256} are missing"))
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, component = %record.id, "loading a component");
            format!("component '{}' could not be loaded", record.id)
        })
}

/// What a hook's failure does to the call: a refusal always fails it; any other failure
/// fails it under `fail_closed` and is logged and skipped under `fail_open` (`None`).
fn hook_failure(
    failure: HookFailure,
    hook: Hook,
    attachment: &Attachment,
    trace: &mut Trace,
) -> Option<Failure> {
    match failure {
        HookFailure::Refused { say, detail } => {
            trace.refusal = Some(detail);
            Some(Failure {
                error: ToolError::new(
                    ErrorKind::TransformRefused,
                    format!("the {} transform refused the call", hook.as_str()),
                ),
                result: Value::Null,
                speech: say,
            })
        }
        HookFailure::Failed(message) => match attachment.on_failure {
            FailurePolicy::FailClosed => Some(Failure::new(ErrorKind::TransformFailed, message)),
            FailurePolicy::FailOpen => {
                trace.logs.push(LogLine {
                    hook: hook.as_str(),
                    level: "error",
                    message: format!("{message}; continuing without it (fail_open)"),
                });
                None
            }
        },
    }
}

fn webhook_error(e: WebhookError) -> ToolError {
    let kind = match e {
        WebhookError::Blocked(_) => ErrorKind::BlockedDestination,
        WebhookError::Timeout(_) => ErrorKind::Timeout,
        WebhookError::Unreachable(_) => ErrorKind::Unreachable,
        WebhookError::InvalidResponse(_) => ErrorKind::InvalidResponse,
        WebhookError::TooLarge(_) => ErrorKind::ResponseTooLarge,
    };
    ToolError::new(kind, e.to_string())
}

fn status_error(response: &WebhookResponse) -> ToolError {
    let mut message = format!("the endpoint answered HTTP {}", response.status);
    if (300..400).contains(&response.status) {
        let location = response
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.as_str())
            .unwrap_or("none given");
        message.push_str(&format!(
            " (a redirect, which Switchboard does not follow; Location: {location})"
        ));
    }
    ToolError::new(ErrorKind::WebhookStatus, message)
}

/// A JSON body comes back as JSON; anything else as text; nothing as `null`.
fn body_value(response: &WebhookResponse) -> Value {
    if response.body.is_empty() {
        return Value::Null;
    }
    let declared_json = response
        .content_type
        .as_deref()
        .is_none_or(|ct| ct.to_ascii_lowercase().contains("json"));
    if declared_json && let Ok(value) = serde_json::from_slice(&response.body) {
        return value;
    }
    Value::String(String::from_utf8_lossy(&response.body).into_owned())
}

fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(LOG_EXCERPT_BYTES);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        text.push('…');
    }
    text
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}
