//! Talking to the other windows: the shop's page (its updates, the checkout's height) and the
//! bank's 3-D Secure page.

use super::*;

/// The shop's page may change the locale, the theme or the CSS variables, and tells the checkout
/// when the amount changed; only its origin is heard.
pub(crate) fn listen_to_parent(ui: Ui) {
    let Some(parent_origin) = ui.opts().parent_origin.clone() else { return };
    let handle = window_event_listener(ev::message, move |event: web_sys::MessageEvent| {
        // A window from another browsing context is no `instanceof Window` here: compare identity.
        let from_parent = web_sys::window()
            .and_then(|w| w.parent().ok().flatten())
            .is_some_and(|parent| event.source().is_some_and(|source| js_sys::Object::is(&source, &parent)));
        if event.origin() != parent_origin || !from_parent {
            return;
        }
        let Some(ParentMessage::Update(CheckoutUpdate { locale, appearance })) = ParentMessage::from_json(&JsJson(event.data())) else {
            return;
        };
        if let Some(locale) = locale.filter(|l| i18n::supported(l)) {
            ui.locale.set(locale);
        }
        if let (Some(appearance), Some(root)) =
            (appearance, web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()))
        {
            if let Some(theme) = appearance.theme {
                let _ = root.set_attribute("data-theme", if theme == Theme::Dark { "dark" } else { "light" });
            }
            if let (Some(vars), Some(root)) = (appearance.variables, root.dyn_ref::<web_sys::HtmlElement>()) {
                for (name, value) in vars.iter().filter(|(name, value)| options::safe_variable(name, value)) {
                    let _ = root.style().set_property(name, value);
                }
            }
        }
        refresh(ui);
    });
    on_cleanup(move || handle.remove());
}

/// The bank's page (served by this same server) says when the challenge is over.
pub(crate) fn listen_to_bank(ui: Ui, origin: String) {
    let handle = window_event_listener(ev::message, move |event: web_sys::MessageEvent| {
        if event.origin() != origin || ui.challenge.get_untracked().is_none() {
            return;
        }
        match ChallengeMessage::from_json(&JsJson(event.data())) {
            Some(ChallengeMessage::ThreeDsComplete) => finish_challenge(true),
            Some(ChallengeMessage::ThreeDsEscape) => finish_challenge(false),
            None => {}
        }
    });
    on_cleanup(move || handle.remove());
}

/// Tells the shop's page how tall the checkout is, so its iframe fits without scrollbars.
pub(crate) fn report_size(ui: Ui) {
    let Some(parent_origin) = ui.opts().parent_origin.clone() else { return };
    let last = Rc::new(std::cell::Cell::new(0i32));
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        let height = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map(|e| e.get_bounding_client_rect().height().ceil() as i32)
            .unwrap_or(0);
        if height != last.get() {
            last.set(height);
            tell_parent(Some(&parent_origin), CheckoutMessage::Resize { height: f64::from(height) });
        }
    });
    if let (Ok(observer), Some(root)) = (
        web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()),
        web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()),
    ) {
        observer.observe(&root);
        // The observer and its callback live as long as the app, and go with it.
        let kept = SendWrapper::new((observer, callback));
        on_cleanup(move || kept.take().0.disconnect());
    }
}
