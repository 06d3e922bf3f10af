//! Tenants, their plans and their API keys: who a caller is and what their plan lets them do.
//!
//! The tenant of a request always comes from its key (see `api::auth`), never from a path or
//! body. This module holds the rules; it never touches storage or HTTP.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{KeyId, TenantId};

/// A tenant's plan. Each plan includes everything of the one before it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// No webhook tools.
    Free,
    /// Webhook tools.
    Plus,
    /// Webhook tools and Wasm components.
    Pro,
}

/// Something a plan may or may not include.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Defining and invoking webhook tools.
    WebhookTools,
    /// Uploading and attaching Wasm components.
    Components,
}

impl Feature {
    /// The cheapest plan that includes this feature.
    pub fn minimum_plan(self) -> Plan {
        match self {
            Feature::WebhookTools => Plan::Plus,
            Feature::Components => Plan::Pro,
        }
    }

    /// How the feature is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::WebhookTools => "webhook tools",
            Feature::Components => "Wasm components",
        }
    }
}

impl Plan {
    /// Text form, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Plus => "plus",
            Plan::Pro => "pro",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Plan> {
        match s {
            "free" => Some(Plan::Free),
            "plus" => Some(Plan::Plus),
            "pro" => Some(Plan::Pro),
            _ => None,
        }
    }

    /// Whether this plan includes `feature`.
    pub fn includes(self, feature: Feature) -> bool {
        self >= feature.minimum_plan()
    }

    /// `Err(message)` naming the plan needed when this plan lacks `feature`.
    pub fn require(self, feature: Feature) -> Result<(), String> {
        if self.includes(feature) {
            Ok(())
        } else {
            Err(format!(
                "{} require the {} plan or higher; this tenant is on the {} plan",
                capitalise(feature.describe()),
                capitalise(feature.minimum_plan().as_str()),
                self.as_str()
            ))
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What a tenant key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Everything a tenant can do: tools, keys, components, call logs, and invoking.
    Manage,
    /// What the agent runtime needs: list an agent's tools and invoke them.
    Invoke,
}

impl Scope {
    /// Text form, as stored and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Manage => "manage",
            Scope::Invoke => "invoke",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "manage" => Some(Scope::Manage),
            "invoke" => Some(Scope::Invoke),
            _ => None,
        }
    }
}

/// A tenant as the operator sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Tenant {
    /// Stable id (`ten_…`).
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Current plan.
    pub plan: Plan,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// An API key's public record; the secret itself is never stored, only its SHA-256.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Public id (`key_…`), used to revoke it.
    pub id: KeyId,
    /// What the key may do.
    pub scope: Scope,
    /// The first characters of the key, so a person can tell keys apart.
    pub hint: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// The owning tenant (not serialised: the caller already knows it).
    #[serde(skip)]
    pub tenant_id: TenantId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_include_the_features_of_cheaper_plans() {
        assert!(!Plan::Free.includes(Feature::WebhookTools));
        assert!(Plan::Plus.includes(Feature::WebhookTools));
        assert!(!Plan::Plus.includes(Feature::Components));
        assert!(Plan::Pro.includes(Feature::Components));
        assert!(Plan::Pro.includes(Feature::WebhookTools));
    }

    #[test]
    fn refusal_names_the_plan_needed() {
        let msg = Plan::Free.require(Feature::WebhookTools).unwrap_err();
        assert_eq!(
            msg,
            "Webhook tools require the Plus plan or higher; this tenant is on the free plan"
        );
    }
}
