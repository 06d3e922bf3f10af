//! How request JSON is read where serde's defaults differ from the published document:
//!
//! - `null` means absent. Clients generated from the OpenAPI document, and plain JSON
//!   libraries, send `null` for an optional field they were not given; the API takes it
//!   exactly as if the field had been left out. Fields whose absence already means something
//!   of its own (a PUT's `signing_secret`) are `Option`s, where `null` is `None` without help
//!   from here. Use as `#[serde(default, deserialize_with = "crate::nullable::or_default")]`:
//!   `default` covers the missing field, the function the `null` one.
//! - An object is an object: serde's derived structs also take their fields as a JSON array,
//!   in order (`"transforms": []`), which no client means and the document does not allow.
//!   [`Object`] reads a struct from a JSON object only; the `*objects*` helpers use it.
//!
//! The OpenAPI document says the same in one place (`api::contract`).

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// A `T` read from a JSON object only, never from an array of its fields.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(OnlyMaps(PhantomData))
            .map(Object)
    }
}

/// A struct from a JSON object, or its default when `null`.
pub fn object_or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<Object<T>>::deserialize(deserializer)?
        .map(|o| o.0)
        .unwrap_or_default())
}

/// An optional struct, from a JSON object or `null`.
pub fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Object<T>>::deserialize(deserializer)?.map(|o| o.0))
}

/// A list of structs, each from a JSON object; empty when `null`.
pub fn objects_or_default<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<Object<T>>>::deserialize(deserializer)?
        .map(|list| list.into_iter().map(|o| o.0).collect())
        .unwrap_or_default())
}

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

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Pair {
        a: u8,
        #[serde(default)]
        b: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Holder {
        #[serde(default, deserialize_with = "super::object_or_default")]
        one: Pair,
        #[serde(default, deserialize_with = "super::objects_or_default")]
        many: Vec<Pair>,
    }

    #[test]
    fn structs_come_from_objects_only() {
        let read: Holder =
            serde_json::from_str(r#"{"one": {"a": 1}, "many": [{"a": 2, "b": 3}]}"#).unwrap();
        assert_eq!(read.one, Pair { a: 1, b: 0 });
        assert_eq!(read.many, [Pair { a: 2, b: 3 }]);
        let null: Holder = serde_json::from_str(r#"{"one": null, "many": null}"#).unwrap();
        assert_eq!((null.one, null.many), (Pair::default(), vec![]));
        // serde alone would take these as the fields in order.
        for array in [r#"{"one": [1, 2]}"#, r#"{"many": [[1, 2]]}"#] {
            let err = serde_json::from_str::<Holder>(array).unwrap_err();
            assert!(err.to_string().contains("expected a JSON object"), "{err}");
        }
        assert!(serde_json::from_str::<super::Object<Pair>>("[1, 2]").is_err());
        assert!(serde_json::from_str::<super::Object<Pair>>(r#"{"a": 1}"#).is_ok());
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
