//! An [`InvocationResult`] as an MCP `CallToolResult`: text a model can read, the result as
//! `structuredContent` when it is a JSON object, `isError` when the tool failed, and the
//! voice-agent fields (call id, speech, interruptions) under namespaced `_meta` keys.

use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use serde_json::{Value, json};

use super::meta;
use crate::invoke::InvocationResult;

/// The MCP form of a finished invocation. A failure is a result with `isError: true` whose
/// text names the error kind, says what happened and what to tell the caller.
pub fn call_result(outcome: InvocationResult) -> CallToolResult {
    let mut extra = MetaObject::new();
    extra.insert(meta::CALL_ID.into(), json!(outcome.call_id));
    extra.insert(
        meta::DISABLE_INTERRUPTIONS.into(),
        json!(outcome.disable_interruptions),
    );
    if let Some(status) = outcome.status {
        extra.insert(meta::STATUS.into(), json!(status));
    }
    if let Some(speech) = &outcome.speech {
        extra.insert(meta::SPEECH.into(), json!(speech));
    }

    let mut result = match &outcome.error {
        None => {
            let mut result =
                CallToolResult::success(vec![ContentBlock::text(readable(&outcome.result))]);
            // The spec's structuredContent is an object; other JSON stays in the text.
            if outcome.result.is_object() {
                result.structured_content = Some(outcome.result);
            }
            result
        }
        Some(error) => {
            let mut text = format!(
                "The tool failed ({}): {}",
                error.kind.as_str(),
                error.message
            );
            if !outcome.result.is_null() {
                text.push_str(&format!(
                    "\nThe endpoint answered: {}",
                    readable(&outcome.result)
                ));
            }
            if let Some(speech) = &outcome.speech {
                text.push_str(&format!("\nWhat to tell the caller: {speech}"));
            }
            extra.insert(meta::ERROR.into(), json!(error));
            CallToolResult::error(vec![ContentBlock::text(text)])
        }
    };
    result.meta = Some(extra);
    result
}

/// A result as text: a string as itself, nothing as a sentence, other JSON serialised.
fn readable(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "The tool succeeded and returned nothing.".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::invoke::{ErrorKind, Timings, ToolError};

    fn outcome(result: Value, error: Option<ToolError>) -> InvocationResult {
        InvocationResult {
            call_id: "call-1".into(),
            tool: "t".into(),
            ok: error.is_none(),
            status: Some(200),
            result,
            speech: None,
            disable_interruptions: false,
            error,
            timings_ms: Timings::default(),
        }
    }

    fn text(result: &CallToolResult) -> &str {
        &result.content[0].as_text().unwrap().text
    }

    #[test]
    fn only_an_object_is_structured_content_and_everything_reads_as_text() {
        for (value, expected_text, structured) in [
            (json!({"a": 1}), r#"{"a":1}"#, true),
            (json!([1, 2]), "[1,2]", false),
            (json!("plain words"), "plain words", false),
            (json!(3), "3", false),
            (
                Value::Null,
                "The tool succeeded and returned nothing.",
                false,
            ),
        ] {
            let result = call_result(outcome(value.clone(), None));
            assert_eq!(result.is_error, Some(false));
            assert_eq!(text(&result), expected_text);
            assert_eq!(result.structured_content, structured.then_some(value));
        }
    }

    #[test]
    fn a_failure_says_its_kind_the_endpoints_answer_and_the_words_for_the_caller() {
        let mut failed = outcome(
            json!({"detail": "down"}),
            Some(ToolError::new(
                ErrorKind::WebhookStatus,
                "the endpoint answered HTTP 503",
            )),
        );
        failed.speech = Some("Sorry, one moment.".into());
        let result = call_result(failed);
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.structured_content, None);
        assert_eq!(
            text(&result),
            "The tool failed (webhook_status): the endpoint answered HTTP 503\n\
             The endpoint answered: {\"detail\":\"down\"}\n\
             What to tell the caller: Sorry, one moment."
        );
        let meta = result.meta.unwrap();
        assert_eq!(meta[meta::ERROR]["kind"], "webhook_status");
        assert_eq!(meta[meta::SPEECH], "Sorry, one moment.");
        assert_eq!(meta[meta::CALL_ID], "call-1");
    }
}
