//! `null` means absent. Clients generated from the OpenAPI document, and plain JSON libraries,
//! send `null` for an optional field they were not given; the API takes it exactly as if the
//! field had been left out. Fields whose absence already means something of its own (a PUT's
//! `signing_secret`) are `Option`s, where `null` is `None` without help from here.
//!
//! Use as `#[serde(default, deserialize_with = "crate::nullable::or_default")]`: `default`
//! covers the missing field, this function the `null` one. The OpenAPI document marks every
//! optional request field nullable in one place (`api::contract`).

use serde::{Deserialize, Deserializer};

/// The field's value, or its type's default when it is `null`.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Example {
        #[serde(default, deserialize_with = "super::or_default")]
        list: Vec<u8>,
        #[serde(default, deserialize_with = "super::or_default")]
        flag: bool,
    }

    #[test]
    fn null_reads_as_the_default_and_values_as_themselves() {
        let absent: Example = serde_json::from_str("{}").unwrap();
        let null: Example = serde_json::from_str(r#"{"list": null, "flag": null}"#).unwrap();
        assert_eq!(absent, null);
        let set: Example = serde_json::from_str(r#"{"list": [1], "flag": true}"#).unwrap();
        assert_eq!((set.list, set.flag), (vec![1], true));
        assert!(serde_json::from_str::<Example>(r#"{"flag": "yes"}"#).is_err());
    }
}
