//! JSON parsing that refuses a property given twice in one object: serde_json keeps the last of
//! duplicate keys silently, but xAPI says each property occurs at most once (Data 2.2).
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses a JSON document, failing on duplicate keys anywhere in it.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|strict| strict.0)
}

/// Why a body [`parse_strict`] refused is not one it takes, for a 400: serde_json's message, but
/// for JSON nested deeper than serde_json reads (128 levels, a guard for the stack), which is
/// valid JSON and is said so.
pub fn refusal(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.strip_prefix("recursion limit exceeded") {
        Some(at) => format!(
            "the body nests arrays and objects more than 128 deep{at}, deeper than this LRS reads"
        ),
        None => format!("the body is not valid JSON: {message}"),
    }
}

/// Like [`parse_strict`] for text.
pub fn parse_strict_str(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|strict| strict.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "property '{key}' occurs more than once in one object"
                )));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_property_given_twice_d_2_2() {
        assert!(parse_strict(br#"{"a": 1, "b": {"c": 1, "c": 2}}"#).is_err());
        assert!(parse_strict(br#"{"a": 1, "a": 1}"#).is_err());
    }

    #[test]
    fn parses_ordinary_json_like_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": {}}}"#;
        let expected: Value = serde_json::from_str(text).expect("valid");
        assert_eq!(parse_strict(text.as_bytes()).expect("valid"), expected);
    }

    #[test]
    fn a_refusal_says_what_is_wrong() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = parse_strict(deep.as_bytes()).expect_err("too deep");
        let message = refusal(&error);
        assert!(message.contains("more than 128 deep"), "{message}");
        assert!(!message.contains("not valid JSON"), "{message}");
        let error = parse_strict(b"{\"a\": }").expect_err("malformed");
        assert!(refusal(&error).starts_with("the body is not valid JSON: "));
    }
}
