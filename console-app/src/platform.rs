//! What the browser does for the console: money and times in the user's locale, the theme and
//! language remembered between visits, and focus.

use js_sys::{Array, Object, Reflect};
use kassa::Currency;
use wasm_bindgen::{JsCast, JsValue};

use crate::i18n::Locale;

/// The `Intl` locale for `locale`: the browser's own English (`en-GB`, `en-US`) or German.
pub fn intl(locale: Locale) -> String {
    let browser = web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default();
    match locale {
        Locale::En if browser.starts_with("en") => browser,
        Locale::En => "en-US".into(),
        Locale::De if browser.starts_with("de") => browser,
        Locale::De => "de-DE".into(),
    }
}

fn options(pairs: &[(&str, JsValue)]) -> Object {
    let options = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&options, &(*key).into(), value);
    }
    options
}

/// `2698` EUR in German → "26,98 €": always the currency's own number of decimals.
pub fn money(minor: i64, currency: Currency, locale: Locale) -> String {
    let exponent = currency.exponent();
    let options = options(&[
        ("style", "currency".into()),
        ("currency", currency.code().into()),
        ("minimumFractionDigits", exponent.into()),
        ("maximumFractionDigits", exponent.into()),
    ]);
    let format = js_sys::Intl::NumberFormat::new(&Array::of1(&intl(locale).into()), &options).format();
    format
        .call1(&JsValue::NULL, &currency.format_amount(minor).into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| format!("{} {}", currency.format_amount(minor), currency.code()))
}

/// An RFC 3339 time as the user reads it: "30 Nov 2026, 14:05".
pub fn time(rfc3339: &str, locale: Locale) -> String {
    let date = js_sys::Date::new(&rfc3339.into());
    if date.get_time().is_nan() {
        return rfc3339.to_owned();
    }
    let options = options(&[("dateStyle", "medium".into()), ("timeStyle", "short".into())]);
    String::from(date.to_locale_string(&intl(locale), &options))
}

/// Reads an amount typed in the user's way ("12,50" or "12.50") in `currency`'s minor units.
pub fn parse_amount(text: &str, currency: Currency) -> Option<i64> {
    let text = text.trim().replace(['\u{a0}', ' '], "");
    let text = match (text.rfind(','), text.rfind('.')) {
        // "1.234,56": the comma is the decimal point.
        (Some(comma), Some(dot)) if comma > dot => text.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => text.replace(',', ""),
        (Some(_), None) => text.replace(',', "."),
        _ => text,
    };
    currency.parse_amount(&text).ok().filter(|amount| *amount >= 0)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

pub fn remembered(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

pub fn remember(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Whether the system prefers dark colours.
pub fn prefers_dark() -> bool {
    web_sys::window().and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten()).is_some_and(|m| m.matches())
}

pub fn browser_locale() -> Locale {
    web_sys::window().and_then(|w| w.navigator().language()).and_then(|l| Locale::parse(&l)).unwrap_or(Locale::En)
}

pub fn set_root_attribute(name: &str, value: &str) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute(name, value);
    }
}

/// Moves the focus to the page's main heading after the page changed, once it is drawn.
pub fn focus_heading() {
    let later = wasm_bindgen::closure::Closure::once_into_js(|| {
        if let Some(heading) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.query_selector("main h1").ok().flatten()) {
            if let Ok(heading) = heading.dyn_into::<web_sys::HtmlElement>() {
                let _ = heading.focus();
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(later.unchecked_ref(), 50);
    }
}

/// The fragment's `setup=` token, if the page was opened from a setup link; the fragment is then
/// cleared, so the token does not stay in the history.
pub fn take_setup_token() -> Option<String> {
    let window = web_sys::window()?;
    let hash = window.location().hash().ok()?;
    let token = hash.strip_prefix("#setup=")?.to_owned();
    let path = window.location().pathname().ok()?;
    let _ = window.history().ok()?.replace_state_with_url(&JsValue::NULL, "", Some(&path));
    (!token.is_empty()).then_some(token)
}
