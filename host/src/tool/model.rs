//! The webhook tool definition: what a tenant sends (`ToolSpec`) and what the API answers
//! (`Tool`, with its id, function id and timestamps). Secret header values live only in the
//! stored form; [`Tool::redacted`] is what leaves the service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{ids::ToolId, tenant::Feature};

/// The HTTP method used to call the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read-only lookups; arguments travel in the path and query.
    Get,
    /// Create or act; arguments may travel in a JSON body.
    Post,
    /// Replace; arguments may travel in a JSON body.
    Put,
    /// Partial update; arguments may travel in a JSON body.
    Patch,
    /// Remove; arguments travel in the path and query.
    Delete,
}

impl Method {
    /// Whether this method carries a JSON body of the body parameters.
    pub fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }

    /// The method as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The JSON type of a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// A JSON string.
    String,
    /// A JSON number (integer or decimal).
    Number,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// The type as text.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
        }
    }

    /// Whether `value` is of this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParamType::String => value.is_string(),
            ParamType::Number => value.is_number(),
            ParamType::Boolean => value.is_boolean(),
        }
    }
}

/// One parameter the AI collects from the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// The argument's name: `[A-Za-z0-9_.-]{1,64}`, unique across all of a tool's parameters.
    pub key: String,
    /// The value's JSON type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// What the value is and how to collect it (goes to the model).
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub description: String,
    /// Whether the call fails without it. Path parameters are always required.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub required: bool,
    /// When set, the only values accepted (each of the parameter's type).
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub enum_values: Option<Vec<Value>>,
    /// Personal or secret data (a card number, a date of birth): the call log keeps
    /// `[redacted]` instead of the value. The endpoint still receives it.
    #[serde(
        default,
        deserialize_with = "crate::nullable::or_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub sensitive: bool,
}

/// Which agents may see and call a tool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentTargets {
    /// Only the phone receptionist.
    Receptionist,
    /// Only the dashboard business assistant.
    Assistant,
    /// Both agents.
    #[default]
    Both,
}

/// The agent calling a tool (a path segment of the agent routes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    /// The AI phone receptionist.
    Receptionist,
    /// The business assistant in the dashboard chat.
    Assistant,
}

impl Agent {
    /// Parses a path segment.
    pub fn parse(s: &str) -> Option<Agent> {
        match s {
            "receptionist" => Some(Agent::Receptionist),
            "assistant" => Some(Agent::Assistant),
            _ => None,
        }
    }

    /// The agent as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Receptionist => "receptionist",
            Agent::Assistant => "assistant",
        }
    }
}

impl AgentTargets {
    /// Whether a tool with these targets is offered to `agent`.
    pub fn includes(self, agent: Agent) -> bool {
        matches!(
            (self, agent),
            (AgentTargets::Both, _)
                | (AgentTargets::Receptionist, Agent::Receptionist)
                | (AgentTargets::Assistant, Agent::Assistant)
        )
    }
}

/// A static header sent with every request to the endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    /// The header name, e.g. `Authorization`.
    pub name: String,
    /// The value. For a secret header it is never returned (it reads `null`); on replace,
    /// a secret header sent without a value keeps the value stored before.
    #[serde(default)]
    pub value: Option<String>,
    /// Write-only: the value is never shown again after it is saved.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub secret: bool,
}

/// What happens when a transform traps, hits a limit or answers nonsense.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// The call fails with `transform_failed`.
    #[default]
    FailClosed,
    /// The untransformed value is used and the failure is logged with the call.
    FailOpen,
}

/// A component attached to one side of a tool call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The component's id (`cmp_…`), of the same tenant.
    pub component: String,
    /// Settings the component reads with `host.config` (at most 64 entries).
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub config: BTreeMap<String, String>,
    /// What a failure does (default `fail_closed`). A refusal is not a failure: it always
    /// fails the call with `transform_refused`.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub on_failure: FailurePolicy,
}

/// Optional components around the webhook call (`pro` plan).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transforms {
    /// Runs `transform-params` before the call.
    #[serde(
        default,
        deserialize_with = "crate::nullable::optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub params: Option<Attachment>,
    /// Runs `transform-response` after it.
    #[serde(
        default,
        deserialize_with = "crate::nullable::optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub response: Option<Attachment>,
}

impl Transforms {
    /// Whether no component is attached.
    pub fn is_empty(&self) -> bool {
        self.params.is_none() && self.response.is_none()
    }
}

/// The response timeout when none is given, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u32 = 20;
/// The shortest response timeout accepted, in seconds.
pub const MIN_TIMEOUT_SECS: u32 = 1;
/// The longest response timeout accepted, in seconds.
pub const MAX_TIMEOUT_SECS: u32 = 120;

fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECS
}

/// `null` is the default, as if the field were left out. A whole number written as a decimal
/// (`20.0`, `2e1`) is that number, as JSON Schema's `integer` has it; one out of `u32`'s range
/// saturates, for the validator to refuse with the range.
fn timeout_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(DEFAULT_TIMEOUT_SECS);
    };
    if let Some(n) = number.as_u64() {
        return Ok(u32::try_from(n).unwrap_or(u32::MAX));
    }
    match number.as_f64() {
        // `as` saturates: below 0 is 0, above u32::MAX is u32::MAX.
        Some(f) if f.fract() == 0.0 => Ok(f as u32),
        _ => Err(serde::de::Error::custom(format!(
            "must be a whole number of seconds, got {number}"
        ))),
    }
}

/// A webhook tool as the tenant defines it (`POST /v1/tools`, `PUT /v1/tools/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// What the AI sees, e.g. `Check availability in area`; the function id is derived from it.
    pub name: String,
    /// When and why to use the tool (goes to the model).
    pub description: String,
    /// The http(s) endpoint; `{key}` placeholders in the path are filled from path parameters.
    #[schema(example = "https://api.example.com/areas/{zip_code}/availability")]
    pub url: String,
    /// The HTTP method.
    pub method: Method,
    /// Parameters filling the URL's `{key}` placeholders (percent-encoded); always required.
    #[serde(default, deserialize_with = "crate::nullable::objects_or_default")]
    pub path_params: Vec<Param>,
    /// Parameters sent in the query string.
    #[serde(default, deserialize_with = "crate::nullable::objects_or_default")]
    pub query_params: Vec<Param>,
    /// Parameters sent as a JSON object body (POST, PUT, PATCH only).
    #[serde(default, deserialize_with = "crate::nullable::objects_or_default")]
    pub body_params: Vec<Param>,
    /// How long to wait for the whole answer, in seconds (1–120, default 20).
    #[serde(default = "default_timeout", deserialize_with = "timeout_or_default")]
    pub response_timeout_secs: u32,
    /// When true the caller cannot interrupt while the tool runs; echoed on every result.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub disable_interruptions: bool,
    /// Which agents may call it (default `both`).
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub agent_targets: AgentTargets,
    /// Static headers sent with every request.
    #[serde(default, deserialize_with = "crate::nullable::objects_or_default")]
    pub headers: Vec<HeaderSpec>,
    /// A Standard Webhooks secret (`whsec_<base64>`, 24–64 bytes): when set, every request
    /// carries `webhook-id`, `webhook-timestamp` and `webhook-signature`. Write-only: it is never
    /// returned (see `signed`). On replace, leaving it out or sending `null` keeps the stored
    /// secret (`null` means absent everywhere) and `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    /// Components that reshape the arguments before the call and the answer after it.
    #[serde(
        default,
        deserialize_with = "crate::nullable::object_or_default",
        skip_serializing_if = "Transforms::is_empty"
    )]
    pub transforms: Transforms,
    /// `url` parsed, once, when it has no placeholders: not part of the definition.
    #[serde(skip)]
    #[schema(ignore)]
    pub parsed_url: ParsedUrl,
}

/// A tool's fixed URL, parsed on its first call and kept with the cached tool, so calls
/// after the first skip parsing it (and IDNA-mapping its host) again. Never compared:
/// two specs are equal when their definitions are.
#[derive(Clone, Debug, Default)]
pub struct ParsedUrl(std::sync::OnceLock<Result<url::Url, url::ParseError>>);

impl ParsedUrl {
    /// `url` parsed, from the first call on.
    pub fn get_or_parse(&self, url: &str) -> Result<&url::Url, url::ParseError> {
        self.0
            .get_or_init(|| url::Url::parse(url))
            .as_ref()
            .map_err(|e| *e)
    }
}

impl PartialEq for ParsedUrl {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ToolSpec {
    /// The URL, parsed once and kept, when it has no placeholders to fill; `None` when it
    /// has some (it is then filled and parsed on every call).
    pub fn fixed_url(&self) -> Option<Result<&url::Url, url::ParseError>> {
        let url = self.url.trim();
        (self.path_params.is_empty() && !url.contains('{'))
            .then(|| self.parsed_url.get_or_parse(url))
    }

    /// What a plan must include to invoke this tool: components when any is attached.
    pub fn feature(&self) -> Feature {
        if self.transforms.is_empty() {
            Feature::WebhookTools
        } else {
            Feature::Components
        }
    }

    /// Every parameter, in path, query, body order.
    pub fn all_params(&self) -> impl Iterator<Item = &Param> {
        self.path_params
            .iter()
            .chain(&self.query_params)
            .chain(&self.body_params)
    }
}

/// A stored webhook tool, as the API returns it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Tool {
    /// Stable id (`tool_…`).
    pub id: ToolId,
    /// The id the model calls it by, derived from `name`.
    pub function_id: String,
    /// The definition.
    #[serde(flatten)]
    pub spec: ToolSpec,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 time of the last replace.
    pub updated_at: String,
    /// Whether requests are signed (a signing secret is set; it is never returned).
    pub signed: bool,
}

impl Tool {
    /// The tool as it may leave the service: secret header values removed.
    pub fn redacted(&self) -> Tool {
        let mut tool = self.clone();
        for header in tool.spec.headers.iter_mut().filter(|h| h.secret) {
            header.value = None;
        }
        tool.signed = tool.spec.signing_secret.is_some();
        tool.spec.signing_secret = None;
        tool
    }
}
