//! Example params transform: normalises what callers say before the webhook
//! sees it.
//!
//! - Zip codes (argument keys in config `zip_keys`, comma separated, default
//!   `zip_code`): "nine four one oh seven", "double five…", "941-07" → `94107`.
//!   Anything that is not exactly five digits afterwards is refused, and the
//!   receptionist asks the caller to repeat it.
//! - Phone numbers (keys in config `phone_keys`, default `phone,phone_number`):
//!   "(415) 555-0100" or "four one five…" → E.164 `+14155550100`, with config
//!   `default_country_code` (default `1`) for national numbers. A number that
//!   cannot be made E.164 is refused the same way.
//!
//! Other arguments, and non-text values, pass through untouched. Demonstrates:
//! reading config, refusing with words for the caller, and keeping the parsing
//! in plain functions that are unit-tested natively.

#![forbid(unsafe_code)]

mod phone;
mod spoken;

pub use crate::phone::e164;

use switchboard_plugin::{Argument, Call, ParamsTransform, Refusal, Value, config, log};

/// What the receptionist says when a zip code cannot be made sense of.
pub const ZIP_SAY: &str = "Sorry, I didn't catch that zip code — could you repeat it?";
/// What the receptionist says when a phone number cannot be made sense of.
pub const PHONE_SAY: &str = "Sorry, I didn't catch that phone number — could you repeat it?";

/// The settings of one attachment, read from config with their defaults.
struct Settings {
    zip_keys: Vec<String>,
    phone_keys: Vec<String>,
    country_code: String,
}

impl Settings {
    fn from_config() -> Result<Self, Refusal> {
        let country_code = config("default_country_code").unwrap_or_else(|| "1".to_string());
        let country_code = country_code.trim().trim_start_matches('+').to_string();
        if country_code.is_empty()
            || country_code.len() > 3
            || !country_code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Refusal::new(format!(
                "config default_country_code must be 1-3 digits, got {country_code:?}"
            )));
        }
        Ok(Settings {
            zip_keys: keys(config("zip_keys"), "zip_code"),
            phone_keys: keys(config("phone_keys"), "phone,phone_number"),
            country_code,
        })
    }
}

/// Splits a comma-separated key list, falling back to `default` when unset.
fn keys(list: Option<String>, default: &str) -> Vec<String> {
    list.as_deref()
        .unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// The five digits of a spoken or written zip code, if that is what it holds.
pub fn zip_code(said: &str) -> Option<String> {
    spoken::digits(said).filter(|d| d.len() == 5)
}

struct NormalizeInput;

impl ParamsTransform for NormalizeInput {
    fn transform_params(call: Call) -> Result<Vec<Argument>, Refusal> {
        let settings = Settings::from_config()?;
        call.arguments
            .into_iter()
            .map(|argument| normalize(argument, &settings))
            .collect()
    }
}

fn normalize(argument: Argument, settings: &Settings) -> Result<Argument, Refusal> {
    let Value::Text(said) = &argument.value else {
        return Ok(argument);
    };
    let key = argument.key.as_str();
    let normalized = if settings.zip_keys.iter().any(|k| k == key) {
        zip_code(said).ok_or_else(|| {
            Refusal::new(format!(
                "argument {key}: {said:?} is not a 5-digit zip code"
            ))
            .say(ZIP_SAY)
        })?
    } else if settings.phone_keys.iter().any(|k| k == key) {
        e164(said, &settings.country_code).ok_or_else(|| {
            Refusal::new(format!("argument {key}: {said:?} is not a phone number")).say(PHONE_SAY)
        })?
    } else {
        return Ok(argument);
    };
    if normalized != *said {
        log::debug(format!("{key}: {said:?} -> {normalized:?}"));
    }
    Ok(Argument::new(argument.key, normalized))
}

switchboard_plugin::export_params!(NormalizeInput);

#[cfg(test)]
mod tests {
    use switchboard_plugin::{Agent, testing};

    use super::*;

    fn call(arguments: Vec<Argument>) -> Call {
        Call {
            id: "call_1".into(),
            tool: "check_availability_in_area".into(),
            agent: Agent::Receptionist,
            conversation: None,
            arguments,
        }
    }

    #[test]
    fn normalizes_default_keys_and_passes_others_through() {
        testing::set_config(&[]);
        let out = NormalizeInput::transform_params(call(vec![
            Argument::new("zip_code", "nine four one oh seven"),
            Argument::new("phone", "(415) 555-0100"),
            Argument::new("name", "Ada"),
            Argument::new("urgent", true),
        ]))
        .unwrap();
        assert_eq!(
            out,
            vec![
                Argument::new("zip_code", "94107"),
                Argument::new("phone", "+14155550100"),
                Argument::new("name", "Ada"),
                Argument::new("urgent", true),
            ]
        );
    }

    #[test]
    fn refuses_a_zip_that_is_not_five_digits() {
        testing::set_config(&[]);
        let refusal =
            NormalizeInput::transform_params(call(vec![Argument::new("zip_code", "nine four")]))
                .unwrap_err();
        assert_eq!(refusal.say.as_deref(), Some(ZIP_SAY));
        assert!(refusal.detail.contains("zip_code"));
    }

    #[test]
    fn reads_keys_and_country_from_config() {
        testing::set_config(&[
            ("zip_keys", "postcode, zip"),
            ("phone_keys", "mobile"),
            ("default_country_code", "+44"),
        ]);
        let out = NormalizeInput::transform_params(call(vec![
            Argument::new("zip", "double five one two three"),
            Argument::new("zip_code", "left alone"),
            Argument::new("mobile", "07700 900123"),
        ]))
        .unwrap();
        assert_eq!(
            out,
            vec![
                Argument::new("zip", "55123"),
                Argument::new("zip_code", "left alone"),
                Argument::new("mobile", "+447700900123"),
            ]
        );
    }
}
