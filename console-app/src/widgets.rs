//! Parts the pages share: a status badge, a labelled field, and the confirmation dialog every
//! change goes through.

use kassa::api::IntentStatus;
use leptos::html;
use leptos::prelude::*;

use crate::i18n::{self, Text};
use crate::use_ui;

#[component]
pub fn Status(status: IntentStatus) -> impl IntoView {
    let ui = use_ui();
    view! { <span class="status" data-status=status.as_str()>{move || i18n::status(status, ui.locale.get())}</span> }
}

/// A text input with its label.
#[component]
pub fn Field(
    id: &'static str,
    label: Text,
    value: RwSignal<String>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
) -> impl IntoView {
    let ui = use_ui();
    view! {
        <div class="field">
            <label for=id>{move || ui.t(label)}</label>
            <input id=id name=id type=kind.unwrap_or("text") inputmode=inputmode autocomplete=autocomplete.unwrap_or("off")
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

/// A change being made: resolves to its error message, if it fails.
pub type Running = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// A change waiting for the user's yes: what the dialog says, and what to do.
#[derive(Clone)]
pub struct Pending {
    pub question: String,
    pub confirm: Text,
    /// Runs the change; its error, if any, is shown in the dialog.
    pub run: std::rc::Rc<dyn Fn() -> Running>,
}

/// The modal dialog that states a change (with its amount) and asks to confirm it. It traps the
/// focus while open (a native modal `<dialog>`), closes on Escape, and returns the focus to the
/// button that opened it.
#[component]
pub fn Confirm(pending: RwSignal<Option<Pending>, LocalStorage>, done: Callback<()>) -> impl IntoView {
    let ui = use_ui();
    let dialog = NodeRef::<html::Dialog>::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    Effect::new(move |_| {
        let open = pending.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                error.set(None);
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    let yes = move |_| {
        let Some(change) = pending.get_untracked() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = (change.run)().await;
            busy.set(false);
            match result {
                Ok(()) => {
                    pending.set(None);
                    done.run(());
                }
                Err(message) => error.set(Some(message)),
            }
        });
    };
    view! {
        <dialog node_ref=dialog class="confirm" aria-labelledby="confirm-question" on:close=move |_| pending.set(None)>
            <p id="confirm-question" class="question">{move || pending.with(|p| p.as_ref().map(|p| p.question.clone()))}</p>
            <p class="error" role="alert">{move || error.get()}</p>
            <div class="buttons">
                <button type="button" class="quiet" on:click=move |_| pending.set(None)>{move || ui.t(Text::Cancel)}</button>
                <button type="button" class="primary" id="confirm-yes" prop:disabled=move || busy.get() on:click=yes>
                    {move || pending.with(|p| p.as_ref().map(|p| ui.t(p.confirm)))}
                </button>
            </div>
        </dialog>
    }
}
