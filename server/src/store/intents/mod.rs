//! Payment intents in the store: the record and its row, the guarded changes, the processor
//! history and the search.

mod claims;
mod history;
mod record;
mod search;

pub use claims::*;
pub use history::*;
pub use record::*;
pub use search::*;
