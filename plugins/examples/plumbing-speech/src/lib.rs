//! Example response transform for the plumbing "Check availability in area"
//! endpoint, which answers `{"zip_code": "94107", "serviced": true,
//! "next_slot": "Tuesday 9am"}` (`next_slot` may be absent or null).
//!
//! The model gets the endpoint's JSON as it was; the receptionist gets a
//! natural sentence: "Yes, we cover 94107 — the next opening is Tuesday at 9am."
//! A non-2xx status or a body that is not that JSON is refused politely.
//! Demonstrates: typed parsing of just the fields it needs with `Response::json`,
//! passing the body through as the result, speech, and refusals with words for
//! the caller.

#![forbid(unsafe_code)]

mod speech;

use serde::Deserialize;
use switchboard_plugin::{Call, Outcome, Refusal, Response, ResponseTransform};

pub use crate::speech::{at_time, sentence};

/// What the receptionist says when the schedule cannot be read.
pub const UNAVAILABLE_SAY: &str =
    "Sorry, I couldn't check the schedule just now. Please try again in a moment.";

/// The fields of the endpoint's answer that the sentence needs.
#[derive(Debug, Deserialize)]
struct Availability {
    zip_code: Option<String>,
    serviced: bool,
    next_slot: Option<String>,
}

struct PlumbingSpeech;

impl ResponseTransform for PlumbingSpeech {
    fn transform_response(call: Call, response: Response) -> Result<Outcome, Refusal> {
        if !response.is_success() {
            return Err(Refusal::new(format!(
                "availability endpoint answered HTTP {}",
                response.status
            ))
            .say(UNAVAILABLE_SAY));
        }
        // Only the fields the sentence needs are read; the model gets the body as it came.
        let availability: Availability = response.json().map_err(|r| r.say(UNAVAILABLE_SAY))?;
        // The endpoint echoes the zip code; fall back to what was asked.
        let zip = availability
            .zip_code
            .as_deref()
            .or_else(|| call.text("zip_code"))
            .unwrap_or("your area");
        let speech = sentence(
            zip,
            availability.serviced,
            availability.next_slot.as_deref(),
        );
        let result = response.text().map_err(|r| r.say(UNAVAILABLE_SAY))?;
        Ok(Outcome {
            result: result.to_owned(),
            speech: Some(speech),
        })
    }
}

switchboard_plugin::export_response!(PlumbingSpeech);

#[cfg(test)]
mod tests {
    use switchboard_plugin::{Agent, Argument};

    use super::*;

    fn call() -> Call {
        Call {
            id: "call_1".into(),
            tool: "check_availability_in_area".into(),
            agent: Agent::Receptionist,
            conversation: None,
            arguments: vec![Argument::new("zip_code", "94107")],
        }
    }

    fn respond(status: u16, body: &str) -> Result<Outcome, Refusal> {
        let response = Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        PlumbingSpeech::transform_response(call(), response)
    }

    #[test]
    fn serviced_with_a_slot() {
        let body = r#"{"zip_code": "94107", "serviced": true, "next_slot": "Tuesday 9am"}"#;
        let outcome = respond(200, body).unwrap();
        assert_eq!(
            outcome.speech.as_deref(),
            Some("Yes, we cover 94107 — the next opening is Tuesday at 9am.")
        );
        let result: serde_json::Value = serde_json::from_str(&outcome.result).unwrap();
        assert_eq!(
            result,
            serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
    }

    #[test]
    fn not_serviced_and_no_slot() {
        let outcome = respond(200, r#"{"zip_code": "94107", "serviced": false}"#).unwrap();
        assert_eq!(
            outcome.speech.as_deref(),
            Some("Sorry, we don't cover 94107 yet.")
        );
        let outcome = respond(
            200,
            r#"{"zip_code": "94107", "serviced": true, "next_slot": null}"#,
        )
        .unwrap();
        assert_eq!(
            outcome.speech.as_deref(),
            Some("Yes, we cover 94107, but there's no opening on the calendar right now.")
        );
    }

    #[test]
    fn refuses_errors_and_non_json() {
        let refusal = respond(503, "busy").unwrap_err();
        assert_eq!(refusal.say.as_deref(), Some(UNAVAILABLE_SAY));
        assert!(refusal.detail.contains("503"));
        let refusal = respond(200, "<html>").unwrap_err();
        assert_eq!(refusal.say.as_deref(), Some(UNAVAILABLE_SAY));
        let refusal = respond(200, r#"{"zip_code": "94107"}"#).unwrap_err();
        assert!(refusal.detail.contains("serviced"));
    }
}
