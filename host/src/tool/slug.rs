//! The function id: the stable, machine-safe name a model calls a tool by.
//!
//! `Check availability in area` becomes `check_availability_in_area`. The id matches
//! `[a-zA-Z0-9_-]{1,64}` (what OpenAI, Anthropic and MCP all accept) and is unique per tenant.

/// The longest function id the model providers accept.
pub const MAX_LEN: usize = 64;

/// Derives a function id from a tool name: lowercase ASCII letters and digits, every run of
/// anything else collapsed to one `_`, no leading or trailing `_`, at most 64 characters.
/// Returns `None` when nothing usable is left (a name of only punctuation or non-Latin text).
pub fn function_id(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len().min(MAX_LEN));
    let mut pending_sep = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_sep = true;
        }
    }
    if out.len() > MAX_LEN {
        out.truncate(MAX_LEN);
        while out.ends_with('_') {
            out.pop();
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Whether `s` is acceptable as a function id.
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_seed_example() {
        assert_eq!(
            function_id("Check availability in area").as_deref(),
            Some("check_availability_in_area")
        );
    }

    #[test]
    fn collapses_punctuation_and_trims() {
        assert_eq!(
            function_id("  Look up — customer (CRM)!  ").as_deref(),
            Some("look_up_customer_crm")
        );
        assert_eq!(
            function_id("price-quote v2").as_deref(),
            Some("price_quote_v2")
        );
        assert_eq!(
            function_id("Créer un ticket").as_deref(),
            Some("cr_er_un_ticket")
        );
    }

    #[test]
    fn refuses_names_with_nothing_usable() {
        assert_eq!(function_id("!!!"), None);
        assert_eq!(function_id("予約"), None);
        assert_eq!(function_id(""), None);
    }

    #[test]
    fn caps_the_length_without_a_trailing_separator() {
        let name = format!("{} b", "a".repeat(63));
        let id = function_id(&name).unwrap();
        assert_eq!(id, "a".repeat(63));
        let long = "word ".repeat(40);
        let id = function_id(&long).unwrap();
        assert!(id.len() <= MAX_LEN && !id.ends_with('_') && is_valid(&id));
    }

    #[test]
    fn validity_matches_the_providers_pattern() {
        assert!(is_valid("check_availability-2"));
        assert!(!is_valid("has space"));
        assert!(!is_valid(&"a".repeat(65)));
        assert!(!is_valid(""));
    }
}
