//! Payments: search with every filter the API has, kept in the address so a search can be shared,
//! and pages by cursor.

use kassa::client::JsJson;
use kassa::Currency;
use leptos::prelude::*;

use crate::api::{self, Read};
use crate::i18n::{self, Text};
use crate::platform::parse_amount;
use crate::route::{self, Link, Page, Route};
use crate::tr;
use crate::widgets::{Cell, Field, Kind, Loaded, Search, Table};

/// The search's fields, named as the address keeps them: amounts as people write them (`12.50`),
/// in the chosen currency.
pub fn fields() -> Vec<Field> {
    let mut statuses = vec![(String::new(), Cell::Words(Text::AnyStatus.words()))];
    statuses.extend(i18n::STATUSES.iter().map(|s| ((*s).to_owned(), Cell::Words(i18n::status(s)))));
    let mut currencies = vec![(String::new(), Cell::Words(Text::AnyCurrency.words()))];
    currencies.extend(Currency::ALL.iter().map(|c| (c.code().to_owned(), Cell::Plain(c.code().to_owned()))));
    vec![
        Field::new("status", Text::Status, Kind::Choice(statuses)),
        Field::new("dateFrom", Text::DateFrom, Kind::Date),
        Field::new("dateTo", Text::DateTo, Kind::Date),
        Field::new("amountMin", Text::AmountMin, Kind::Amount),
        Field::new("amountMax", Text::AmountMax, Kind::Amount),
        Field::new("currency", Text::Currency, Kind::Choice(currencies)),
        Field::new("cardLast4", Text::Last4, Kind::Text("off")),
        Field::new("customerId", Text::Customer, Kind::Text("off")),
        Field::new("orderId", Text::Order, Kind::Text("off")),
        Field::new("locationId", Text::Location, Kind::Text("off")),
    ]
}

/// The API's query for a route's search: amounts in the currency's minor units.
pub fn api_query(route: &Route) -> String {
    let currency = route.get("currency").and_then(|c| c.parse::<Currency>().ok());
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, value) in &route.query {
        let (name, value) = match name.as_str() {
            "amountMin" | "amountMax" => {
                let minor = parse_amount(value, currency.unwrap_or(Currency::USD)).map_or_else(|| value.clone(), |m| m.to_string());
                (format!("{name}Cents"), minor)
            }
            _ => (name.clone(), value.clone()),
        };
        query.push((name, value));
    }
    route::encode_query(&query)
}

/// A payment as a row: amount (its link), status, card, reference, time.
pub fn row(intent: &JsJson) -> Vec<Cell> {
    let id = intent.text("id").unwrap_or_default();
    let total = intent.int("amountCents") + intent.int("tipCents");
    let reference = intent.text("reference").or_else(|| intent.text("orderId")).or_else(|| intent.text("customerId"));
    vec![
        Cell::Link(Box::new(Cell::Money(total, intent.currency())), Route::to(Page::Payment(id))),
        status(intent),
        Cell::Plain(card(intent)),
        Cell::opt(reference),
        Cell::Time(intent.text("createdAt").unwrap_or_default()),
    ]
}

pub const COLUMNS: [Text; 5] = [Text::Amount, Text::Status, Text::Card, Text::Reference, Text::Created];

pub fn status(intent: &JsJson) -> Cell {
    Cell::badge("status", intent.text("status").unwrap_or_default(), i18n::status)
}

/// A payment's card: "Visa •••• 4242".
pub fn card(intent: &JsJson) -> String {
    card_label(intent.text("cardBrand"), intent.text("cardLast4"))
}

/// "Visa •••• 4242" from a brand's wire name and the last four digits.
pub fn card_label(brand: Option<String>, last4: Option<String>) -> String {
    let brand = brand.and_then(|b| b.parse::<kassa::card::CardBrand>().ok()).map(|b| b.name()).unwrap_or_default();
    match last4 {
        Some(last4) if brand.is_empty() => format!("•••• {last4}"),
        Some(last4) => format!("{brand} •••• {last4}"),
        None => String::new(),
    }
}

#[component]
pub fn Payments() -> impl IntoView {
    let route = expect_context::<RwSignal<Route>>();
    let path = Signal::derive(move || format!("/payments/transactions?{}", route.with(api_query)));
    view! {
        <h1 tabindex="-1">{tr(Text::Payments)}</h1>
        <Search page=Page::Payments fields=fields()/>
        <Loaded path reload=RwSignal::new(0) view=list/>
    }
}

/// A page of payments and the link to the next.
pub fn list(answer: JsJson) -> AnyView {
    list_or(answer, Text::NoPayments)
}

/// A page of payments, or `none` when there are none.
pub fn list_or(answer: JsJson, none: Text) -> AnyView {
    let rows: Vec<Vec<Cell>> = api::items(&answer).iter().map(row).collect();
    let empty = rows.is_empty();
    view! {
         {empty.then(|| view! { <p role="status">{tr(none)}</p> })}
         {(!empty).then(|| view! { <Table columns=COLUMNS.to_vec() rows label=Text::Payments/> })}
         {api::next_cursor(&answer).map(|cursor| view! { <NextPage cursor/> })}
    }
    .into_any()
}

#[component]
fn NextPage(cursor: String) -> impl IntoView {
    let route = expect_context::<RwSignal<Route>>();
    let mut next = route.get_untracked();
    next.query.retain(|(k, _)| k != "cursor");
    next.query.push(("cursor".into(), cursor));
    view! { <p class="pager"><Link to=next>{tr(Text::More)}</Link></p> }
}
