//! Small things the browser does for the app: money for people, and messages to the shop's page.

use js_sys::{Array, Object, Reflect};
use kassa::client::JsJson;
use kassa::messages::CheckoutMessage;
use kassa::Currency;
use wasm_bindgen::{JsCast, JsValue};

/// `2698, EUR, de` → "26,98 €", with the currency's own decimal places.
pub fn money(minor: i64, currency: Currency, locale: &str) -> String {
    let options = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&options, &k.into(), &v);
    };
    set("style", "currency".into());
    set("currency", currency.code().into());
    set("minimumFractionDigits", currency.exponent().into());
    set("maximumFractionDigits", currency.exponent().into());
    let locales = Array::of1(&crate::i18n::intl(locale).into());
    let format = js_sys::Intl::NumberFormat::new(&locales, &options).format();
    format
        .call1(&JsValue::NULL, &currency.format_amount(minor).into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| format!("{} {}", currency.format_amount(minor), currency.code()))
}

/// Tells the shop's page something, and only the shop's page.
pub fn tell_parent(parent_origin: Option<&str>, message: CheckoutMessage<JsJson>) {
    let (Some(origin), Some(window)) = (parent_origin, web_sys::window()) else { return };
    let Ok(Some(parent)) = window.parent() else { return };
    if parent == window {
        return;
    }
    let _ = parent.post_message(&message.to_json().0, origin);
}

pub fn focus(id: &str) {
    if let Some(element) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id)) {
        if let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
