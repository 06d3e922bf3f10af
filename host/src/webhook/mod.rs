//! Calling tenant endpoints: turning a tool and its checked arguments into an HTTP request
//! ([`request`]), and sending it under the outbound rules ([`client`], [`guard`]).
//!
//! Everything here treats the tenant's URL and the endpoint's answer as hostile: the
//! destination is checked before connecting and at resolution time, redirects are never
//! followed, environment proxies are ignored, one deadline covers the whole exchange and the
//! body is capped. This module never decides what a failure means to the caller; it reports
//! a typed [`client::WebhookError`] and the invocation path turns it into a result.

pub mod client;
pub mod guard;
pub mod request;
pub mod signing;

pub use client::{WebhookClient, WebhookError, WebhookResponse};
pub use request::OutboundRequest;
