//! One payment: its details, its full processor history (3-D Secure steps, AVS and CVC results
//! included), and what may be done with it — each change confirmed with its amount.

use std::rc::Rc;

use kassa::api::Permission;
use kassa::client::{JsJson, Json};
use kassa::Currency;
use leptos::prelude::*;

use super::payments::{card, card_label, status};
use crate::api::{self, Read};
use crate::i18n::{self, Text};
use crate::route::{Page, Route};
use crate::widgets::{Action, Actions, Cell, CellView, Details, Field, Kind, Loaded, ObjectScreen, Reload, Request, Table};
use crate::{tr, use_ui, Ui};

#[component]
pub fn Payment(id: String) -> impl IntoView {
    view! { <ObjectScreen back=Page::Payments back_text=Text::Back path=format!("/payments/transactions/{id}") view=detail/> }
}

fn detail(answer: JsJson) -> AnyView {
    let ui = use_ui();
    let found = api::data(answer);
    let intent = found.at("intent").unwrap_or(found.clone());
    let currency = intent.currency();
    let money = |key: &str| Cell::Money(intent.int(key), currency);
    let nonzero = |key: &str| if intent.int(key) == 0 { Cell::Plain(String::new()) } else { money(key) };
    let text = |key: &str| Cell::opt(intent.text(key));
    let order = intent
        .text("orderId")
        .map(|o| Cell::Link(Box::new(Cell::Plain(o.clone())), Route::to(Page::Order(o))))
        .unwrap_or(Cell::Plain(String::new()));
    let resolution = intent.at("resolution").and_then(|r| r.text("resolution"));
    let details = vec![
        (Text::Amount, money("amountCents")),
        (Text::Tip, nonzero("tipCents")),
        (Text::Captured, money("capturedAmountCents")),
        (Text::Refunded, nonzero("refundedAmountCents")),
        (Text::Card, Cell::Plain(card(&intent))),
        (Text::AuthCode, text("authCode")),
        (Text::Avs, text("avsResponse")),
        (Text::Cvc, text("cvvResponse")),
        (Text::ProviderReference, text("providerReference")),
        (Text::Reference, text("reference")),
        (Text::Order, order),
        (Text::Customer, text("customerId")),
        (Text::Location, text("locationId")),
        (Text::LastError, Cell::opt(intent.at("lastError").and_then(|e| e.text("message")))),
        (Text::Resolution, Cell::opt(resolution)),
        (Text::Created, Cell::Time(intent.text("createdAt").unwrap_or_default())),
    ];
    let history: Vec<Vec<Cell>> = found
        .list("transactions")
        .iter()
        .map(|t| {
            let (kind, outcome) = (t.text("type").unwrap_or_default(), t.text("status").unwrap_or_default());
            let response = match (t.text("responseCode"), t.text("responseText")) {
                (Some(code), Some(text)) => format!("{code} · {text}"),
                (code, text) => code.or(text).unwrap_or_default(),
            };
            vec![
                Cell::Words(i18n::step(&kind)),
                Cell::badge("outcome", outcome, i18n::outcome),
                Cell::Money(t.int("amountCents"), t.currency()),
                Cell::Plain(response),
                Cell::opt(t.text("createdBy")),
                Cell::Time(t.text("createdAt").unwrap_or_default()),
            ]
        })
        .collect();
    let actions = actions(&intent, &ui);
    let retry = retry(&intent, &ui);
    let nothing = actions.is_empty() && retry.is_none();
    let total = intent.int("amountCents") + intent.int("tipCents");
    view! {
        <h1 tabindex="-1" class="with-status">
            <span data-testid="payment-amount">{move || ui.money(total, currency)}</span>
            <CellView cell=status(&intent)/>
        </h1>
        <p class="muted">{found.at("intent").and_then(|i| i.text("id"))}</p>
        <div class="columns">
            <section aria-labelledby="details-title">
                <h2 id="details-title">{tr(Text::Details)}</h2>
                <Details items=details/>
            </section>
            <section aria-labelledby="actions-title" class="actions">
                <h2 id="actions-title">{tr(Text::Actions)}</h2>
                {nothing.then(|| view! { <p class="muted">{tr(Text::NoActions)}</p> })}
                <Actions actions done=Reload::callback()/>
                {retry}
            </section>
        </div>
        <section aria-labelledby="history-title">
            <h2 id="history-title">{tr(Text::History)}</h2>
            <Table columns=vec![Text::Type, Text::Result, Text::Amount, Text::Response, Text::By, Text::When] rows=history label=Text::History/>
        </section>
   }
    .into_any()
}

/// What a failed payment's retry needs to know, for the part that offers it once the
/// customer's saved cards are known.
#[derive(Clone)]
struct Failing {
    id: String,
    total: i64,
    currency: Currency,
}

/// Retrying a failed payment: on the original card, or on one the customer saved.
fn retry(intent: &JsJson, ui: &Ui) -> Option<AnyView> {
    let status = intent.text("status").unwrap_or_default();
    if !matches!(status.as_str(), "declined" | "error") || !ui.can(Permission::TransactionsCreate) {
        return None;
    }
    provide_context(Failing {
        id: intent.text("id").unwrap_or_default(),
        total: intent.int("amountCents") + intent.int("tipCents"),
        currency: intent.currency(),
    });
    Some(match intent.text("customerId").filter(|c| c.starts_with("cus_") && ui.can(Permission::MethodsView)) {
        Some(customer) => {
            view! { <Loaded path=Signal::stored(format!("/customers/{customer}/payment-methods")) reload=RwSignal::new(0) view=retry_with/> }.into_any()
        }
        None => retry_with(JsJson::array(vec![])),
    })
}

fn retry_with(saved: JsJson) -> AnyView {
    let ui = use_ui();
    let Failing { id, total, currency } = expect_context::<Failing>();
    let mut cards = vec![(String::new(), Cell::Words(Text::OriginalCard.words()))];
    cards.extend(api::items(&saved).iter().map(|method| {
        let card = method.at("card");
        let label = card_label(card.as_ref().and_then(|c| c.text("brand")), card.as_ref().and_then(|c| c.text("last4")));
        (method.text("id").unwrap_or_default(), Cell::Plain(label))
    }));
    let path = format!("/payments/failed/{id}/retry");
    let action = Action {
        id: "action-retry".into(),
        label: Text::Retry,
        fields: vec![Field::new("change-card", Text::RetryCard, Kind::Choice(cards))],
        plan: Rc::new(move |typed| {
            let body =
                if typed[0].is_empty() { api::object(vec![]) } else { api::object(vec![("paymentMethodId", api::string(&typed[0]))]) };
            Ok(Request::new(ui.t(Text::ConfirmRetry).replace("{amount}", &ui.money(total, currency)), "POST", path.clone(), body))
        }),
    };
    view! { <Actions actions=vec![action] done=Reload::callback()/> }.into_any()
}

/// A request's body: the payment `id`, and `members`.
fn body(id: &str, members: Vec<(&'static str, JsJson)>) -> JsJson {
    let mut all = vec![("paymentIntentId", api::string(id))];
    all.extend(members);
    api::object(all)
}

/// What the signed-in user may do with this payment now.
fn actions(intent: &JsJson, ui: &Ui) -> Vec<Action> {
    let ui = *ui;
    let id = intent.text("id").unwrap_or_default();
    let status = intent.text("status").unwrap_or_default();
    let currency = intent.currency();
    let (amount_cents, tip) = (intent.int("amountCents"), intent.int("tipCents"));
    let total = amount_cents + tip;
    let left = intent.int("capturedAmountCents") - intent.int("refundedAmountCents");
    let question = move |text: Text, minor: i64| ui.t(text).replace("{amount}", &ui.money(minor, currency));
    let (create, void) = (ui.can(Permission::TransactionsCreate), ui.can(Permission::TransactionsVoid));
    let mut actions = Vec::new();
    if status == "authorized" && create {
        let id = id.clone();
        actions.push(Action {
            id: "action-capture".into(),
            label: Text::Capture,
            fields: vec![Field::new("change-amount", Text::Amount, Kind::Amount).with(currency.format_amount(total))],
            plan: Rc::new(move |typed| {
                let minor = ui.typed_amount(&typed[0], currency, total, false)?;
                let body = body(&id, vec![("amountCents", api::integer(minor))]);
                Ok(Request::new(question(Text::ConfirmCapture, minor), "POST", "/payments/capture".into(), body))
            }),
        });
    }
    if matches!(status.as_str(), "captured" | "partially_refunded") && void {
        let id = id.clone();
        actions.push(Action {
            id: "action-refund".into(),
            label: Text::Refund,
            fields: vec![
                Field::new("change-amount", Text::Amount, Kind::Amount).with(currency.format_amount(left)),
                Field::new("change-reason", Text::Reason, Kind::Text("off")),
            ],
            plan: Rc::new(move |typed| {
                let minor = ui.typed_amount(&typed[0], currency, left, false)?;
                let mut members = vec![("amountCents", api::integer(minor))];
                if !typed[1].trim().is_empty() {
                    members.push(("reason", api::string(typed[1].trim())));
                }
                let body = body(&id, members);
                Ok(Request::new(question(Text::ConfirmRefund, minor), "POST", "/payments/refund".into(), body))
            }),
        });
    }
    if matches!(status.as_str(), "authorized" | "captured") && create {
        let path = format!("/payments/{id}/tip");
        actions.push(Action {
            id: "action-tip".into(),
            label: Text::AdjustTip,
            fields: vec![Field::new("change-amount", Text::Tip, Kind::Amount).with(currency.format_amount(tip))],
            plan: Rc::new(move |typed| {
                let minor = ui.typed_amount(&typed[0], currency, amount_cents, true)?;
                Ok(Request::new(
                    question(Text::ConfirmTip, minor),
                    "POST",
                    path.clone(),
                    api::object(vec![("tipCents", api::integer(minor))]),
                ))
            }),
        });
    }
    if matches!(status.as_str(), "declined" | "error") && void {
        let path = format!("/payments/failed/{id}/resolve");
        let mut means: Vec<(String, Cell)> = i18n::METHODS[..3].iter().map(|m| ((*m).to_owned(), Cell::Words(i18n::method(m)))).collect();
        means.push((String::new(), Cell::Words(Text::NotPaid.words())));
        actions.push(Action {
            id: "action-resolve".into(),
            label: Text::Resolve,
            fields: vec![
                Field::new("change-means", Text::PaidBy, Kind::Choice(means)).with("cash"),
                Field::new("change-reason", Text::Reason, Kind::Text("off")),
            ],
            plan: Rc::new(move |typed| {
                let paid = !typed[0].is_empty();
                let mut members = vec![("resolution", api::string(if paid { "resolved" } else { "dismissed" }))];
                if paid {
                    members.push(("paidByOtherMeans", JsJson::boolean(true)));
                    members.push(("otherMeansType", api::string(&typed[0])));
                }
                if !typed[1].trim().is_empty() {
                    members.push(("reason", api::string(typed[1].trim())));
                }
                let text = if paid { Text::ConfirmResolvePaid } else { Text::ConfirmDismiss };
                Ok(Request::new(question(text, total), "POST", path.clone(), api::object(members)))
            }),
        });
    }
    if status == "authorized" && void {
        let body = body(&id, vec![]);
        actions.push(Action {
            id: "action-void".into(),
            label: Text::Void,
            fields: vec![],
            plan: Rc::new(move |_| Ok(Request::new(question(Text::ConfirmVoid, total), "POST", "/payments/void".into(), body.clone()))),
        });
    }
    actions
}
