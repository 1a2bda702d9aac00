//! Where the console is: a page and its query, kept in the address so that a search can be
//! shared and the back button works. Pages live under `/console/`.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub const BASE: &str = "/console";

/// A page of the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    Payments,
    Payment(String),
    Failed,
    Orders,
    Order(String),
    Developers,
    NotFound,
}

/// A page and the query it was opened with (`status=captured&cardLast4=4242`).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub page: Page,
    pub query: Vec<(String, String)>,
}

impl Route {
    pub fn parse(path: &str, search: &str) -> Route {
        let rest = path.strip_prefix(BASE).unwrap_or(path).trim_matches('/');
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let page = match parts.as_slice() {
            [] | ["payments"] => Page::Payments,
            ["payments", id] => Page::Payment((*id).to_owned()),
            ["failed"] => Page::Failed,
            ["orders"] => Page::Orders,
            ["orders", id] => Page::Order((*id).to_owned()),
            ["developers"] => Page::Developers,
            _ => Page::NotFound,
        };
        Route { page, query: parse_query(search) }
    }

    pub fn href(&self) -> String {
        let path = match &self.page {
            Page::Payments | Page::NotFound => "payments".to_owned(),
            Page::Payment(id) => format!("payments/{id}"),
            Page::Failed => "failed".to_owned(),
            Page::Orders => "orders".to_owned(),
            Page::Order(id) => format!("orders/{id}"),
            Page::Developers => "developers".to_owned(),
        };
        let query = encode_query(&self.query);
        if query.is_empty() {
            format!("{BASE}/{path}")
        } else {
            format!("{BASE}/{path}?{query}")
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn to(page: Page) -> Route {
        Route { page, query: Vec::new() }
    }
}

fn decode(text: &str) -> String {
    js_sys::decode_uri_component(&text.replace('+', " ")).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

pub fn parse_query(search: &str) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

pub fn encode_query(query: &[(String, String)]) -> String {
    query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", js_sys::encode_uri_component(k), js_sys::encode_uri_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The route the browser shows now.
pub fn current() -> Route {
    let location = window().location();
    Route::parse(&location.pathname().unwrap_or_default(), &location.search().unwrap_or_default())
}

/// The route as a signal that follows the back and forward buttons.
pub fn provide_router() -> RwSignal<Route> {
    let route = RwSignal::new(current());
    let on_pop = Closure::<dyn Fn()>::new(move || route.set(current()));
    let _ = window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    // The console lives as long as its page: the listener does too.
    on_pop.forget();
    provide_context(route);
    route
}

/// Goes to `to`, adding it to the history; the page's main heading takes the focus, so that a
/// screen reader announces where the user is.
pub fn navigate(to: Route) {
    let route = expect_context::<RwSignal<Route>>();
    let _ = window().history().and_then(|h| h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&to.href())));
    route.set(to);
    crate::platform::focus_heading();
}

/// Shows `to` in place of the current route (a changed filter), without a history entry.
pub fn replace(to: Route) {
    let route = expect_context::<RwSignal<Route>>();
    let _ = window().history().and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&to.href())));
    route.set(to);
}

/// A link that the console follows itself (a plain click), and the browser otherwise (a new tab).
#[component]
pub fn Link(to: Route, children: Children, #[prop(optional, into)] class: Option<String>) -> impl IntoView {
    let href = to.href();
    let follow = move |ev: leptos::ev::MouseEvent| {
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        navigate(to.clone());
    };
    view! { <a href=href class=class on:click=follow>{children()}</a> }
}
