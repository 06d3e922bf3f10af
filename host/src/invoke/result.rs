//! The invocation result the agent runtime receives, its stable error kinds, and the short
//! caller-facing fallback the receptionist can say for each. Fallbacks are polite and never
//! mention internals: the `message` is for the model and the logs, the `speech` for the caller.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::tool::args::ArgumentProblem;

/// Stable machine-readable failure kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Missing, unknown, mistyped or disallowed arguments (see `details`).
    InvalidArguments,
    /// The endpoint did not answer completely within the tool's response timeout.
    Timeout,
    /// No connection to the endpoint could be made, or it broke.
    Unreachable,
    /// The endpoint answered with something that is not valid HTTP.
    InvalidResponse,
    /// The endpoint answered with a non-2xx status (redirects included: never followed).
    WebhookStatus,
    /// The response body is over the host's cap.
    ResponseTooLarge,
    /// The destination is on a refused network range.
    BlockedDestination,
    /// The tenant's plan does not cover this tool.
    PlanRequired,
    /// A transform component trapped, hit a limit, or answered something unusable.
    TransformFailed,
    /// A transform component refused the call on purpose.
    TransformRefused,
    /// A stored secret of the tool could not be decrypted (wrong key or a tampered row).
    SecretUnavailable,
    /// The tenant is over its plan's concurrency or rate limit; nothing was sent.
    RateLimited,
}

impl ErrorKind {
    /// The kind as text.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::WebhookStatus => "webhook_status",
            ErrorKind::ResponseTooLarge => "response_too_large",
            ErrorKind::BlockedDestination => "blocked_destination",
            ErrorKind::PlanRequired => "plan_required",
            ErrorKind::TransformFailed => "transform_failed",
            ErrorKind::TransformRefused => "transform_refused",
            ErrorKind::SecretUnavailable => "secret_unavailable",
            ErrorKind::RateLimited => "rate_limited",
        }
    }

    /// What the receptionist can say to the caller when this happens.
    pub fn speech(self) -> &'static str {
        match self {
            ErrorKind::InvalidArguments => {
                "Sorry, I didn't get all the details I need for that. Could you tell me again?"
            }
            ErrorKind::Timeout => {
                "Sorry, that's taking longer than it should. Let me take a note and we'll follow up with you."
            }
            ErrorKind::PlanRequired => "Sorry, I can't do that over the phone right now.",
            ErrorKind::RateLimited => {
                "Sorry, our system is very busy right now. Let me take a note and we'll get back to you."
            }
            ErrorKind::TransformRefused => {
                "Sorry, I can't help with that one. Could you put it another way?"
            }
            ErrorKind::Unreachable
            | ErrorKind::InvalidResponse
            | ErrorKind::WebhookStatus
            | ErrorKind::ResponseTooLarge
            | ErrorKind::BlockedDestination
            | ErrorKind::TransformFailed
            | ErrorKind::SecretUnavailable => {
                "Sorry, I couldn't look that up just now. Let me take a note and we'll get back to you."
            }
        }
    }
}

/// Why a tool call failed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ToolError {
    /// Stable kind.
    pub kind: ErrorKind,
    /// What happened, for the model and the call log.
    pub message: String,
    /// For `invalid_arguments`: each problem, by key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ArgumentProblem>>,
}

impl ToolError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: None,
        }
    }

    /// Attaches the argument problems.
    pub fn with_details(mut self, details: Vec<ArgumentProblem>) -> Self {
        self.details = Some(details);
        self
    }
}

/// Where the time went, in milliseconds.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Timings {
    /// From receiving the call to answering it.
    pub total: f64,
    /// The params transform, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_params: Option<f64>,
    /// The endpoint call, when it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<f64>,
    /// The response transform, when there is one: making its instance plus the call. The
    /// instance is usually made while the endpoint call is in flight, so this can overlap
    /// `webhook`; only the call itself comes after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_response: Option<f64>,
}

/// The answer to an invocation: always 200, `ok` says whether the tool succeeded.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InvocationResult {
    /// The call id (yours, or generated).
    pub call_id: String,
    /// The tool's function id.
    pub tool: String,
    /// Whether the tool succeeded.
    pub ok: bool,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The endpoint's answer: JSON as JSON, anything else as text, nothing as null.
    #[schema(value_type = Object)]
    pub result: Value,
    /// What the receptionist should say, when there is something to say.
    pub speech: Option<String>,
    /// When true the caller must not be able to interrupt while the tool runs.
    pub disable_interruptions: bool,
    /// Why it failed, when `ok` is false.
    pub error: Option<ToolError>,
    /// Where the time went.
    pub timings_ms: Timings,
}
