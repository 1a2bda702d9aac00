use std::sync::Arc;

use crate::http::idempotency::InFlight;
use crate::processor::Processor;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub processor: Arc<dyn Processor>,
    pub in_flight: InFlight,
}

impl AppState {
    pub fn new(store: Store, processor: Arc<dyn Processor>) -> AppState {
        AppState { store, processor, in_flight: InFlight::default() }
    }
}
