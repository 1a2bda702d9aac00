//! The JSON the flows read and write, whoever holds it. Natively that is `serde_json::Value`; in the
//! npm package it is the browser's own objects, parsed and printed by the browser's `JSON`, so the
//! WebAssembly carries no JSON parser, no printer and no decoder per type.

use serde_json::{Map, Value};

/// A JSON value the flows can build and take apart.
pub trait Json: Clone + Sized {
    /// Parses JSON text; `None` when it is not JSON.
    fn parse(text: &str) -> Option<Self>;
    fn to_text(&self) -> String;

    fn string(value: &str) -> Self;
    fn integer(value: i64) -> Self;
    fn number(value: f64) -> Self;
    fn boolean(value: bool) -> Self;
    fn array(items: Vec<Self>) -> Self;
    fn object(members: Vec<(&'static str, Self)>) -> Self;

    /// A member of an object: `None` when this is not an object, or the member is missing or null.
    fn get(&self, key: &str) -> Option<Self>;
    fn as_string(&self) -> Option<String>;
    /// A whole number that a JSON number can carry exactly (at most 2^53 − 1 in magnitude).
    fn as_integer(&self) -> Option<i64>;
    fn as_boolean(&self) -> Option<bool>;
    fn as_array(&self) -> Option<Vec<Self>>;
    /// The member names of an object; `None` when this is not an object.
    fn keys(&self) -> Option<Vec<String>>;
}

/// The largest integer a JSON number (an IEEE double) carries exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

impl Json for Value {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn string(value: &str) -> Self {
        Value::String(value.to_owned())
    }
    fn integer(value: i64) -> Self {
        Value::from(value)
    }
    fn number(value: f64) -> Self {
        Value::from(value)
    }
    fn boolean(value: bool) -> Self {
        Value::Bool(value)
    }
    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn object(members: Vec<(&'static str, Self)>) -> Self {
        Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
    }
    fn get(&self, key: &str) -> Option<Self> {
        self.as_object()?.get(key).filter(|v| !v.is_null()).cloned()
    }
    fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn as_integer(&self) -> Option<i64> {
        self.as_i64().filter(|n| n.abs() <= MAX_SAFE_INTEGER)
    }
    fn as_boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn as_array(&self) -> Option<Vec<Self>> {
        Value::as_array(self).cloned()
    }
    fn keys(&self) -> Option<Vec<String>> {
        Some(self.as_object()?.keys().cloned().collect())
    }
}
