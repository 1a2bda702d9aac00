//! Payments: search with every filter the API has, kept in the address so a search can be shared,
//! and pages by cursor.

use kassa::api::{IntentStatus, PaymentIntent};
use kassa::Currency;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::i18n::{self, Text};
use crate::platform::parse_amount;
use crate::route::{self, Link, Page, Route};
use crate::widgets::{Field, Status};
use crate::{api, use_ui};

/// The filters as the address keeps them, with amounts as people write them (`12.50`).
const TEXT_FILTERS: [(&str, &str, Text); 4] = [
    ("cardLast4", "last4", Text::Last4),
    ("customerId", "customer", Text::Customer),
    ("orderId", "order", Text::Order),
    ("locationId", "location", Text::Location),
];

const STATUSES: [IntentStatus; 12] = [
    IntentStatus::Authorized,
    IntentStatus::Captured,
    IntentStatus::PartiallyRefunded,
    IntentStatus::Refunded,
    IntentStatus::Voided,
    IntentStatus::Declined,
    IntentStatus::Error,
    IntentStatus::Resolved,
    IntentStatus::RequiresPaymentMethod,
    IntentStatus::RequiresAction,
    IntentStatus::Processing,
    IntentStatus::Canceled,
];

/// The API's query for the route's filters: amounts in the currency's minor units.
pub fn api_query(route: &Route) -> String {
    let currency = route.get("currency").and_then(|c| c.parse::<Currency>().ok()).unwrap_or(Currency::USD);
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, value) in &route.query {
        match name.as_str() {
            "amountMin" | "amountMax" => {
                let api = if name == "amountMin" { "amountMinCents" } else { "amountMaxCents" };
                let minor = parse_amount(value, currency).map_or_else(|| value.clone(), |m| m.to_string());
                query.push((api.into(), minor));
                query.push(("currency".into(), currency.code().into()));
            }
            "status" | "dateFrom" | "dateTo" | "cardLast4" | "customerId" | "orderId" | "locationId" | "cursor" => query.push((name.clone(), value.clone())),
            "currency" => query.push((name.clone(), value.clone())),
            _ => {}
        }
    }
    query.sort();
    query.dedup();
    route::encode_query(&query)
}

#[component]
pub fn Payments() -> impl IntoView {
    let ui = use_ui();
    let route = expect_context::<RwSignal<Route>>();
    let initial = route.get_untracked();
    let field = |name: &str| RwSignal::new(initial.get(name).unwrap_or_default().to_owned());
    let status = field("status");
    let (date_from, date_to) = (field("dateFrom"), field("dateTo"));
    let (amount_min, amount_max, currency) = (field("amountMin"), field("amountMax"), field("currency"));
    let texts: Vec<RwSignal<String>> = TEXT_FILTERS.iter().map(|(name, _, _)| field(name)).collect();

    let search = {
        let texts = texts.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let mut query = vec![
                ("status".to_owned(), status.get_untracked()),
                ("dateFrom".into(), date_from.get_untracked()),
                ("dateTo".into(), date_to.get_untracked()),
                ("amountMin".into(), amount_min.get_untracked()),
                ("amountMax".into(), amount_max.get_untracked()),
                ("currency".into(), currency.get_untracked()),
            ];
            for ((name, _, _), value) in TEXT_FILTERS.iter().zip(&texts) {
                query.push(((*name).into(), value.get_untracked().trim().to_owned()));
            }
            query.retain(|(_, v)| !v.is_empty());
            route::replace(Route { page: Page::Payments, query });
        }
    };
    let clear = {
        let texts = texts.clone();
        move |_| {
            for value in [status, date_from, date_to, amount_min, amount_max, currency].iter().chain(&texts) {
                value.set(String::new());
            }
            route::replace(Route::to(Page::Payments));
        }
    };

    let results = LocalResource::new(move || {
        let query = route.with(api_query);
        async move { api::page::<PaymentIntent>(&format!("/payments/transactions?{query}")).await }
    });

    let filters = TEXT_FILTERS
        .iter()
        .zip(texts)
        .map(|((name, id, label), value)| {
            let inputmode = if *name == "cardLast4" { "numeric" } else { "text" };
            view! { <Field id=*id label=*label value inputmode/> }
        })
        .collect_view();

    view! {
        <h1 tabindex="-1">{move || ui.t(Text::Payments)}</h1>
        <form class="filters" role="search" aria-label=move || ui.t(Text::Filters) on:submit=search>
            <div class="field">
                <label for="status">{move || ui.t(Text::Status)}</label>
                <select id="status" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="" selected=move || status.with(String::is_empty)>{move || ui.t(Text::AnyStatus)}</option>
                    {STATUSES.iter().map(|s| {
                        let s = *s;
                        view! { <option value=s.as_str() selected=move || status.get() == s.as_str()>{move || i18n::status(s, ui.locale.get())}</option> }
                    }).collect_view()}
                </select>
            </div>
            <Field id="date-from" label=Text::DateFrom value=date_from kind="date"/>
            <Field id="date-to" label=Text::DateTo value=date_to kind="date"/>
            <Field id="amount-min" label=Text::AmountMin value=amount_min inputmode="decimal"/>
            <Field id="amount-max" label=Text::AmountMax value=amount_max inputmode="decimal"/>
            <div class="field">
                <label for="currency">{move || ui.t(Text::Currency)}</label>
                <select id="currency" on:change=move |ev| currency.set(event_target_value(&ev))>
                    <option value="" selected=move || currency.with(String::is_empty)>{move || ui.t(Text::AnyCurrency)}</option>
                    {Currency::ALL.iter().map(|c| {
                        let code = c.code();
                        view! { <option value=code selected=move || currency.get() == code>{code}</option> }
                    }).collect_view()}
                </select>
            </div>
            {filters}
            <div class="buttons">
                <button type="submit" class="primary">{move || ui.t(Text::Search)}</button>
                <button type="button" class="quiet" on:click=clear>{move || ui.t(Text::Clear)}</button>
            </div>
        </form>
        <Suspense fallback=move || view! { <p role="status">{ui.t(Text::Loading)}</p> }>
            {move || results.get().map(|answer| match answer {
                Err(failure) => view! { <p class="error" role="alert">{ui.failed(&failure)}</p> }.into_any(),
                Ok((rows, _)) if rows.is_empty() => view! { <p role="status">{move || ui.t(Text::NoPayments)}</p> }.into_any(),
                Ok((rows, next)) => view! { <PaymentTable rows/> {next.map(|cursor| view! { <NextPage cursor/> })} }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn NextPage(cursor: String) -> impl IntoView {
    let ui = use_ui();
    let route = expect_context::<RwSignal<Route>>();
    let mut next = route.get_untracked();
    next.query.retain(|(k, _)| k != "cursor");
    next.query.push(("cursor".into(), cursor));
    view! { <p class="pager"><Link to=next>{move || ui.t(Text::More)}</Link></p> }
}

/// Payments as a table on a desk, as a list of cards on a phone (the stylesheet decides).
#[component]
pub fn PaymentTable(rows: Vec<PaymentIntent>) -> impl IntoView {
    let ui = use_ui();
    view! {
        <table class="rows">
            <thead><tr>
                <th scope="col">{move || ui.t(Text::Amount)}</th>
                <th scope="col">{move || ui.t(Text::Status)}</th>
                <th scope="col">{move || ui.t(Text::Card)}</th>
                <th scope="col">{move || ui.t(Text::Reference)}</th>
                <th scope="col">{move || ui.t(Text::Created)}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|intent| {
                    let total = i64::from(intent.amount_cents) + i64::from(intent.tip_cents);
                    let currency = intent.currency;
                    let card = card_text(&intent);
                    let reference = intent.reference.clone().or(intent.order_id.as_ref().map(|o| o.to_string())).or(intent.customer_id.clone()).unwrap_or_default();
                    let created = intent.created_at.clone();
                    view! {
                        <tr>
                            <td data-label=move || ui.t(Text::Amount)>
                                <Link to=Route::to(Page::Payment(intent.id.to_string())) class="amount">{move || ui.money(total, currency)}</Link>
                            </td>
                            <td data-label=move || ui.t(Text::Status)><Status status=intent.status/></td>
                            <td data-label=move || ui.t(Text::Card)>{card}</td>
                            <td data-label=move || ui.t(Text::Reference)>{reference}</td>
                            <td data-label=move || ui.t(Text::Created)>{move || ui.time(&created)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

pub fn card_text(intent: &PaymentIntent) -> String {
    match (&intent.card_brand, &intent.card_last4) {
        (Some(brand), Some(last4)) => format!("{} •••• {last4}", brand.name()),
        (None, Some(last4)) => format!("•••• {last4}"),
        _ => String::new(),
    }
}
