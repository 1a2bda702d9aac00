//! Signing in, and choosing a password from a setup link.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::i18n::Text;
use crate::widgets::{Field, Input, Kind};
use crate::{api, tr, use_ui, Session, Ui};

/// Posts `body` to `path` and, on success, starts the signed-in console.
fn start_session(ui: Ui, path: &'static str, body: kassa::client::JsJson, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    busy.set(true);
    leptos::task::spawn_local(async move {
        match api::session_call("POST", path, Some(&body)).await {
            Ok(answer) => {
                let session = Session::read(&answer);
                ui.notice.set(None);
                let _ = web_sys::window()
                    .and_then(|w| w.history().ok())
                    .map(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&crate::route::current().href())));
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
        start_session(
            ui,
            "/console/session",
            api::object(vec![("email", api::string(&email.get_untracked())), ("password", api::string(&password.get_untracked()))]),
            busy,
            error,
        );
    };
    view! {
        <main class="center">
            <form class="card narrow" on:submit=submit>
                <h1 tabindex="-1">{tr(Text::SignInTitle)}</h1>
                {move || ui.notice.get().map(|notice| view! { <p class="notice" role="status">{ui.t(notice)}</p> })}
                <Input field=Field::new("email", Text::Email, Kind::Email) value=email/>
                <Input field=Field::new("password", Text::Password, Kind::Password("current-password")) value=password/>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" class="primary wide" prop:disabled=move || busy.get()>{tr(Text::SignIn)}</button>
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
        start_session(
            ui,
            "/console/setup",
            api::object(vec![("token", api::string(&token)), ("password", api::string(&password.get_untracked()))]),
            busy,
            error,
        );
    };
    view! {
        <main class="center">
            <form class="card narrow" on:submit=submit>
                <h1 tabindex="-1">{tr(Text::SetUpTitle)}</h1>
                <p>{tr(Text::SetUpText)}</p>
                <Input field=Field::new("new-password", Text::NewPassword, Kind::Password("new-password")) value=password/>
                <p class="hint">{tr(Text::PasswordRule)}</p>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" class="primary wide" prop:disabled=move || busy.get()>{tr(Text::SetPassword)}</button>
            </form>
        </main>
    }
}
