//! Failed payments: how many, and which. Each opens on its payment's page, where it can be
//! retried or resolved.

use kassa::client::JsJson;
use leptos::prelude::*;

use crate::api::{self, Read};
use crate::i18n::Text;
use crate::route::Route;
use crate::tr;
use crate::widgets::{Cell, Details, Loaded};

#[component]
pub fn Failed() -> impl IntoView {
    let route = expect_context::<RwSignal<Route>>();
    let page = Signal::derive(move || format!("/payments/failed?{}", route.with(|r| crate::route::encode_query(&r.query))));
    view! {
        <h1 tabindex="-1">{tr(Text::FailedPayments)}</h1>
        <Loaded path=Signal::stored("/payments/failed?counts=true".to_owned()) reload=RwSignal::new(0) view=counts/>
        <Loaded path=page reload=RwSignal::new(0) view=|answer| super::payments::list_or(answer, Text::NoFailed)/>
    }
}

fn counts(answer: JsJson) -> AnyView {
    let counts = api::data(answer);
    let count = |key: &str| Cell::Plain(counts.int(key).to_string());
    view! { <Details items=vec![(Text::Total, count("total")), (Text::Declined, count("declined")), (Text::Errors, count("error"))]/> }
        .into_any()
}
