//! The browser under the shared client flows: fetch, timers, random keys, and this app's own
//! 3-D Secure modal.

use std::cell::RefCell;

use futures_channel::oneshot;
use kassa::api::NextAction;
use kassa::client::{ChallengeError, Host, HttpRequest, HttpResponse, Method, TransportError};
use leptos::prelude::*;

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
        use gloo_net::http::RequestBuilder;
        let mut builder = RequestBuilder::new(&request.url).method(match request.method {
            Method::Get => gloo_net::http::Method::GET,
            Method::Post => gloo_net::http::Method::POST,
            Method::Delete => gloo_net::http::Method::DELETE,
        });
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let request = match &request.body {
            Some(body) => builder.body(body.clone()),
            None => builder.build(),
        }
        .map_err(|e| TransportError(e.to_string()))?;
        let response = request.send().await.map_err(|e| TransportError(e.to_string()))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| TransportError(e.to_string()))?;
        Ok(HttpResponse { status, body })
    }

    async fn sleep(&self, millis: u32) {
        gloo_timers::future::TimeoutFuture::new(millis).await;
    }

    fn idempotency_key(&self) -> String {
        let mut bytes = [0u8; 16];
        let random = web_sys::window().and_then(|w| w.crypto().ok()).map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
        if random != Some(true) {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (js_sys::Math::random() * 256.0) as u8 ^ (i as u8);
            }
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
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
