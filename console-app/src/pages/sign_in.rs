//! Signing in, and choosing a password from a setup link.

use kassa::api::ConsoleSession;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::i18n::Text;
use crate::widgets::Field;
use crate::{api, use_ui, Ui};

/// Posts `body` to `path` and, on success, starts the signed-in console.
fn start_session(ui: Ui, path: &'static str, body: serde_json::Value, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    busy.set(true);
    leptos::task::spawn_local(async move {
        match api::session_call::<ConsoleSession>("POST", path, Some(&body)).await {
            Ok(session) => {
                ui.notice.set(None);
                let _ = web_sys::window().and_then(|w| w.history().ok()).map(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&crate::route::current().href())));
                ui.session.set(Some(session));
            }
            Err(failure) => error.set(Some(match failure.code.as_str() {
                "UNAUTHENTICATED" => ui.t(Text::WrongCredentials).to_owned(),
                _ => failure.message,
            })),
        }
        busy.set(false);
    });
}

#[component]
pub fn SignIn() -> impl IntoView {
    let ui = use_ui();
    let (email, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (busy, error) = (RwSignal::new(false), RwSignal::new(None::<String>));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        start_session(ui, "/console/session", json!({ "email": email.get_untracked(), "password": password.get_untracked() }), busy, error);
    };
    view! {
        <main class="center">
            <form class="card narrow" on:submit=submit>
                <h1 tabindex="-1">{move || ui.t(Text::SignInTitle)}</h1>
                {move || ui.notice.get().map(|notice| view! { <p class="notice" role="status">{ui.t(notice)}</p> })}
                <Field id="email" label=Text::Email value=email kind="email" autocomplete="username"/>
                <Field id="password" label=Text::Password value=password kind="password" autocomplete="current-password"/>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" class="primary wide" prop:disabled=move || busy.get()>{move || ui.t(Text::SignIn)}</button>
            </form>
        </main>
    }
}

#[component]
pub fn SetUp(token: String) -> impl IntoView {
    let ui = use_ui();
    let password = RwSignal::new(String::new());
    let (busy, error) = (RwSignal::new(false), RwSignal::new(None::<String>));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if password.get_untracked().chars().count() < kassa::api::MIN_PASSWORD_LEN {
            error.set(Some(ui.t(Text::PasswordRule).to_owned()));
            return;
        }
        start_session(ui, "/console/setup", json!({ "token": token, "password": password.get_untracked() }), busy, error);
    };
    view! {
        <main class="center">
            <form class="card narrow" on:submit=submit>
                <h1 tabindex="-1">{move || ui.t(Text::SetUpTitle)}</h1>
                <p>{move || ui.t(Text::SetUpText)}</p>
                <Field id="new-password" label=Text::NewPassword value=password kind="password" autocomplete="new-password"/>
                <p class="hint">{move || ui.t(Text::PasswordRule)}</p>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" class="primary wide" prop:disabled=move || busy.get()>{move || ui.t(Text::SetPassword)}</button>
            </form>
        </main>
    }
}
