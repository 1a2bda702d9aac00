//! Payment intents in the store: the record and its row, the guarded changes, the processor
//! history and the search.

mod claims;
mod record;
mod history;
mod search;

pub use claims::*;
pub use record::*;
pub use history::*;
pub use search::*;
