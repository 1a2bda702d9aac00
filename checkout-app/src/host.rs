//! The browser under the shared client flows: fetch, timers, random keys, and this app's own
//! 3-D Secure modal.

use std::cell::RefCell;

use futures_channel::oneshot;
use kassa::api::NextAction;
use kassa::client::{ChallengeError, Host, HttpRequest, HttpResponse, TransportError};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The challenge being shown: its address and EMV window size.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub url: String,
    pub window_size: String,
}

thread_local! {
    /// Resolves the challenge in progress: true when the bank's page finished, false when closed.
    static CHALLENGE_DONE: RefCell<Option<oneshot::Sender<bool>>> = const { RefCell::new(None) };
}

/// Ends the challenge in progress, if any.
pub fn finish_challenge(completed: bool) {
    if let Some(done) = CHALLENGE_DONE.with(|slot| slot.borrow_mut().take()) {
        let _ = done.send(completed);
    }
}

pub struct BrowserHost {
    pub challenge: RwSignal<Option<Challenge>>,
}

impl Host for BrowserHost {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let no_answer = |error: JsValue| {
            TransportError(error.dyn_ref::<js_sys::Error>().map_or_else(|| "no answer".into(), |e| String::from(e.message())))
        };
        let window = web_sys::window().ok_or_else(|| TransportError("no window".into()))?;
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        let headers = js_sys::Object::new();
        for (name, value) in &request.headers {
            let _ = js_sys::Reflect::set(&headers, &(*name).into(), &value.into());
        }
        init.set_headers(&headers);
        if let Some(body) = &request.body {
            init.set_body(&body.into());
        }
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(&request.url, &init)).await.map_err(no_answer)?.unchecked_into();
        let body = JsFuture::from(response.text().map_err(no_answer)?).await.map_err(no_answer)?;
        Ok(HttpResponse { status: response.status(), body: body.as_string().unwrap_or_default() })
    }

    async fn sleep(&self, millis: u32) {
        let wait = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis as i32);
            }
        });
        let _ = JsFuture::from(wait).await;
    }

    fn idempotency_key(&self) -> String {
        kassa::client::random_key()
    }

    async fn present_challenge(&self, action: &NextAction) -> Result<(), ChallengeError> {
        let (done, finished) = oneshot::channel();
        finish_challenge(false);
        CHALLENGE_DONE.with(|slot| *slot.borrow_mut() = Some(done));
        self.challenge.set(Some(Challenge { url: action.url.clone(), window_size: action.challenge_window_size.clone() }));
        let completed = finished.await.unwrap_or(false);
        self.challenge.set(None);
        if completed {
            Ok(())
        } else {
            Err(ChallengeError::Cancelled)
        }
    }
}
