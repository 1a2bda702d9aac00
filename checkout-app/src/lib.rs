//! Kassa's checkout, rendered in the browser: order summary, card form, saved cards, 3-D Secure,
//! result screens, and a kiosk mode with a tip screen. It uses the `kassa` client flows from Rust.

mod answers;
mod card_fields;
mod embedding;
mod flows;
pub mod host;
pub mod i18n;
mod kiosk;
pub mod options;
mod platform;
mod screens;
mod state;

use std::rc::Rc;

use kassa::client::{CardDetails, Client, ConfirmParams, ErrorType, JsJson, KassaError};
use kassa::messages::{ChallengeMessage, CheckoutMessage, CheckoutUpdate, ParentMessage, Theme};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use answers::{Intent, SavedCard};
use card_fields::*;
use embedding::*;
use flows::*;
use host::{finish_challenge, BrowserHost, Challenge};
use i18n::{t, Text};
use kiosk::*;
use options::{Mode, Options};
use platform::{focus, money, now_ms, tell_parent};
use screens::*;
use state::*;

#[component]
pub fn App() -> impl IntoView {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let options = Options::from_fragment(&hash);
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let challenge = RwSignal::new(None::<Challenge>);
    let client = Client::new(BrowserHost { challenge }, options.publishable_key.clone(), origin.clone());
    let ui = Ui::new(options, client, challenge);
    provide_context(ui);
    let options = ui.opts();
    let document = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
    if let Some(root) = &document {
        let _ = root.set_attribute("data-theme", &options.theme);
        let _ = root.set_attribute("data-mode", if options.mode == Mode::Kiosk { "kiosk" } else { "embedded" });
        if let Some(root) = root.dyn_ref::<web_sys::HtmlElement>() {
            for (name, value) in &options.variables {
                let _ = root.style().set_property(name, value);
            }
        }
    }
    Effect::new(move |_| {
        let locale = ui.locale.get();
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", &locale);
        }
    });
    listen_to_parent(ui);
    listen_to_bank(ui, origin);
    report_size(ui);
    if ui.opts().mode == Mode::Kiosk {
        watch_idle(ui);
    }
    // The shop hears whether the form is complete, to enable its own controls.
    Effect::new(move |_| {
        let complete = ui.chosen.get().is_some() || ui.field_errors().iter().all(Option::is_none);
        tell_parent(ui.opts().parent_origin.as_deref(), CheckoutMessage::Change { complete, brand: brand(&ui.number.get()) });
    });
    show_answers(ui);
    load(ui);

    view! {
        <main class="checkout" aria-labelledby="checkout-title">
            {move || match ui.screen.get() {
                Screen::Loading => view! { <p class="loading" role="status">{move || ui.tr(Text::Loading)}</p> }.into_any(),
                Screen::Tip => view! { <TipScreen/> }.into_any(),
                Screen::Pay => view! { <PayScreen/> }.into_any(),
                Screen::Done => view! { <DoneScreen/> }.into_any(),
                Screen::Failed(message) => view! {
                    <section class="result failed">
                        <h1 id="checkout-title" tabindex="-1">{move || ui.tr(Text::Failed)}</h1>
                        <p role="alert">{message}</p>
                    </section>
                }.into_any(),
            }}
            <ChallengeModal/>
        </main>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod component_tests;
