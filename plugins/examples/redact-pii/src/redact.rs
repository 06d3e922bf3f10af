//! The redaction walk over a JSON value, as a plain function so it is
//! unit-tested natively.

use serde_json::Value;

/// What happens to a matching key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keep the key, replace its value with `"[redacted]"`.
    Mask,
    /// Delete the key.
    Remove,
}

/// The value a masked field gets.
pub const MASK: &str = "[redacted]";

/// Redacts every object key in `value`, at any depth, whose lower-cased name is
/// in `fields` (which must be lower case). Returns how many were redacted.
/// A redacted value is not searched further: it is gone already.
pub fn redact(value: &mut Value, fields: &[String], mode: Mode) -> usize {
    let matches = |key: &str| fields.iter().any(|f| *f == key.to_lowercase());
    match value {
        Value::Object(map) => {
            let mut count = 0;
            if mode == Mode::Remove {
                let before = map.len();
                map.retain(|key, _| !matches(key));
                count += before - map.len();
            }
            for (key, v) in map.iter_mut() {
                if matches(key) {
                    *v = Value::String(MASK.to_string());
                    count += 1;
                } else {
                    count += redact(v, fields, mode);
                }
            }
            count
        }
        Value::Array(items) => items.iter_mut().map(|v| redact(v, fields, mode)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn masks_nested_keys_case_insensitively() {
        let mut v = json!({
            "customer": {
                "name": "Ada",
                "EMAIL": "ada@example.com",
                "addresses": [{"Address": "1 Main St", "city": "SF"}],
                "phone": {"home": "555", "work": "556"}
            },
            "orders": [{"id": 1, "email": null}]
        });
        let n = redact(&mut v, &fields(&["email", "address", "phone"]), Mode::Mask);
        assert_eq!(n, 4);
        assert_eq!(
            v,
            json!({
                "customer": {
                    "name": "Ada",
                    "EMAIL": "[redacted]",
                    "addresses": [{"Address": "[redacted]", "city": "SF"}],
                    "phone": "[redacted]"
                },
                "orders": [{"id": 1, "email": "[redacted]"}]
            })
        );
    }

    #[test]
    fn removes_keys() {
        let mut v = json!({"ssn": "1", "nested": [{"SSN": "2", "keep": true}]});
        let n = redact(&mut v, &fields(&["ssn"]), Mode::Remove);
        assert_eq!(n, 2);
        assert_eq!(v, json!({"nested": [{"keep": true}]}));
    }

    #[test]
    fn leaves_scalars_and_unmatched_alone() {
        let mut v = json!(["email", 1, {"emails": "x"}]);
        assert_eq!(redact(&mut v, &fields(&["email"]), Mode::Mask), 0);
        assert_eq!(v, json!(["email", 1, {"emails": "x"}]));
    }
}
