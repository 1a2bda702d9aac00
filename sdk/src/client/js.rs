//! The browser's own values as the flows' JSON, for Rust that runs in a page (the npm package's
//! core and the checkout): `JSON.parse` and `JSON.stringify` do the work, so the WebAssembly
//! carries no JSON parser, printer or decoder per type.

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::json::{Json, MAX_SAFE_INTEGER};

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues`, which every browser that runs WebAssembly has.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(bytes: &mut [u8]);
}

/// A fresh, unguessable idempotency key: 16 bytes from the browser's `crypto`, in hex (as the npm
/// package's loader makes them).
pub fn random_key() -> String {
    let mut bytes = [0u8; 16];
    get_random_values(&mut bytes);
    hex::encode(bytes)
}

/// A JavaScript value as the flows' JSON: the browser parses and prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct JsJson(pub JsValue);

impl Json for JsJson {
    fn parse(text: &str) -> Option<Self> {
        JSON::parse(text).ok().map(JsJson)
    }
    fn to_text(&self) -> String {
        JSON::stringify(&self.0).ok().and_then(|text| text.as_string()).unwrap_or_default()
    }
    fn string(value: &str) -> Self {
        JsJson(value.into())
    }
    fn integer(value: i64) -> Self {
        JsJson((value as f64).into())
    }
    fn number(value: f64) -> Self {
        JsJson(value.into())
    }
    fn boolean(value: bool) -> Self {
        JsJson(value.into())
    }
    fn array(items: Vec<Self>) -> Self {
        JsJson(items.into_iter().map(|item| item.0).collect::<Array>().into())
    }
    fn object(members: Vec<(&'static str, Self)>) -> Self {
        let object = Object::new();
        for (key, value) in members {
            let _ = Reflect::set(&object, &key.into(), &value.0);
        }
        JsJson(object.into())
    }
    fn get(&self, key: &str) -> Option<Self> {
        let value = Reflect::get(self.as_object()?, &key.into()).ok()?;
        (!value.is_null() && !value.is_undefined()).then_some(JsJson(value))
    }
    fn as_string(&self) -> Option<String> {
        self.0.as_string()
    }
    fn as_integer(&self) -> Option<i64> {
        self.0.as_f64().filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER as f64).map(|n| n as i64)
    }
    fn as_boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn as_array(&self) -> Option<Vec<Self>> {
        Array::is_array(&self.0).then(|| Array::from(&self.0).iter().map(JsJson).collect())
    }
    fn keys(&self) -> Option<Vec<String>> {
        Some(Object::keys(self.as_object()?).iter().filter_map(|key| key.as_string()).collect())
    }
}

impl JsJson {
    /// The value as an object with members: not a list, not a primitive.
    fn as_object(&self) -> Option<&Object> {
        self.0.dyn_ref::<Object>().filter(|_| !Array::is_array(&self.0))
    }
}
