//! Kiosk mode: the idle timeout and the next customer.

use super::*;

/// Kiosk: after `idleSeconds` without a touch or key, go back to the start — never while a
/// payment is in flight.
pub(crate) fn watch_idle(ui: Ui) {
    let Some(window) = web_sys::window() else { return };
    let touched = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || ui.last_activity.set(now_ms()));
    const ACTIVITY: [&str; 3] = ["pointerdown", "keydown", "input"];
    for event in ACTIVITY {
        let _ = window.add_event_listener_with_callback_and_bool(event, touched.as_ref().unchecked_ref(), true);
    }
    let kept = SendWrapper::new((window, touched));
    on_cleanup(move || {
        let (window, touched) = kept.take();
        for event in ACTIVITY {
            let _ = window.remove_event_listener_with_callback_and_bool(event, touched.as_ref().unchecked_ref(), true);
        }
    });
    let idle_ms = f64::from(ui.opts().idle_seconds) * 1000.0;
    let handle = set_interval_with_handle(
        move || {
            let busy = ui.paying.pending().get_untracked() || ui.challenge.get_untracked().is_some();
            if busy {
                ui.last_activity.set(now_ms());
                return;
            }
            if now_ms() - ui.last_activity.get_untracked() < idle_ms {
                return;
            }
            ui.last_activity.set(now_ms());
            match ui.screen.get_untracked() {
                Screen::Done => restart(ui),
                Screen::Tip | Screen::Loading => {}
                _ => {
                    ui.reset_form();
                    ui.screen.set(Screen::Tip);
                }
            }
        },
        std::time::Duration::from_millis(500),
    );
    if let Ok(handle) = handle {
        on_cleanup(move || handle.clear());
    }
}

/// Kiosk: the next customer.
pub(crate) fn restart(ui: Ui) {
    match (ui.opts().restart_url.clone(), web_sys::window()) {
        (Some(url), Some(window)) => {
            let _ = window.location().replace(&url);
        }
        _ => {
            ui.reset_form();
        }
    }
}
