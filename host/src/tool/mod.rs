//! Webhook tool definitions: the shape a tenant writes, the rules it must satisfy, and how a
//! caller's arguments are checked against it.
//!
//! - [`model`]: the definition as stored and served (`ToolSpec` in, `Tool` out).
//! - [`slug`]: the function id derived from a tool's human name.
//! - [`validate`]: definition checks, each error naming the field.
//! - [`args`]: argument checks at invocation time.
//!
//! Nothing here performs I/O; the API and the invocation path call into it.

pub mod args;
pub mod model;
pub mod schema;
pub mod slug;
pub mod validate;

pub use model::{
    AgentTargets, Attachment, FailurePolicy, HeaderSpec, Method, Param, ParamType, Tool, ToolSpec,
    Transforms,
};
