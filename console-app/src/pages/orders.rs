//! Orders: the list, and an order's page with its items, balance and payments ledger (card and
//! manual payments together). Only what each ledger payment's `can` allows is offered.

use std::rc::Rc;

use kassa::api::Permission;
use kassa::client::JsJson;
use kassa::Currency;
use leptos::prelude::*;

use crate::api::{self, Read};
use crate::i18n::{self, Text, Words};
use crate::route::{Page, Route};
use crate::widgets::{Action, Actions, Cell, Details, Field, Kind, Loaded, ObjectScreen, Reload, Request, Search, Table};
use crate::{tr, use_ui, Ui};
use kassa::money::MAX_AMOUNT_CENTS;

/// Words for a known value, the value itself otherwise.
fn known(value: String, words: fn(&str) -> Words) -> Cell {
    let w = words(&value);
    if w.0.is_empty() {
        Cell::Plain(value)
    } else {
        Cell::Words(w)
    }
}

#[component]
pub fn Orders() -> impl IntoView {
    let route = expect_context::<RwSignal<Route>>();
    let path = Signal::derive(move || format!("/orders?{}", route.with(|r| crate::route::encode_query(&r.query))));
    let statuses = ["", "open", "partially_paid", "paid"]
        .iter()
        .map(|s| ((*s).to_owned(), Cell::Words(if s.is_empty() { Text::AnyOrderStatus.words() } else { i18n::order_status(s) })))
        .collect();
    let fields = vec![
        Field::new("status", Text::Status, Kind::Choice(statuses)),
        Field::new("dateFrom", Text::DateFrom, Kind::Date),
        Field::new("dateTo", Text::DateTo, Kind::Date),
        Field::new("customerId", Text::Customer, Kind::Text("off")),
    ];
    view! {
        <h1 tabindex="-1">{tr(Text::Orders)}</h1>
        <Search page=Page::Orders fields/>
        <Loaded path reload=RwSignal::new(0) view=list/>
    }
}

fn list(answer: JsJson) -> AnyView {
    let rows: Vec<Vec<Cell>> = api::items(&answer)
        .iter()
        .map(|order| {
            let currency = order.currency();
            let id = order.text("id").unwrap_or_default();
            vec![
                Cell::Link(Box::new(Cell::Money(order.int("totalCents"), currency)), Route::to(Page::Order(id))),
                Cell::badge("status", order.text("status").unwrap_or_default(), i18n::order_status),
                Cell::Money(order.int("balanceCents"), currency),
                Cell::opt(order.text("customerId")),
                Cell::Time(order.text("createdAt").unwrap_or_default()),
            ]
        })
        .collect();
    if rows.is_empty() {
        return view! { <p role="status">{tr(Text::NoOrders)}</p> }.into_any();
    }
    view! { <Table columns=vec![Text::Total, Text::Status, Text::Balance, Text::Customer, Text::Created] rows label=Text::Orders/> }
        .into_any()
}

#[component]
pub fn Order(id: String) -> impl IntoView {
    view! { <ObjectScreen back=Page::Orders back_text=Text::BackToOrders path=format!("/orders/{id}") view=detail/> }
}

fn detail(answer: JsJson) -> AnyView {
    let ui = use_ui();
    let order = api::data(answer);
    let currency = order.currency();
    let id = order.text("id").unwrap_or_default();
    let money = |key: &str| Cell::Money(order.int(key), currency);
    let items: Vec<Vec<Cell>> = order
        .list("lineItems")
        .iter()
        .map(|line| {
            let (unit, quantity) = (line.int("unitAmountCents"), line.int("quantity"));
            vec![
                Cell::opt(line.text("name")),
                Cell::Plain(quantity.to_string()),
                Cell::Money(unit, currency),
                Cell::Money(unit * quantity, currency),
            ]
        })
        .collect();
    let payments = order.list("payments");
    let ledger: Vec<Vec<Cell>> = payments
        .iter()
        .map(|p| {
            let source = p.text("sourcePaymentId").filter(|s| s.starts_with("pi_"));
            let method = known(p.text("methodId").unwrap_or_default(), i18n::method);
            let method = match source {
                Some(intent) => Cell::Link(Box::new(method), Route::to(Page::Payment(intent))),
                None => method,
            };
            // A corrected payment shows what it was: "€50.00 → €40.00".
            let was: Vec<String> = p
                .list("corrections")
                .iter()
                .filter_map(|c| c.at("previous"))
                .map(|before| ui.money(before.int("amountCents"), currency))
                .collect();
            let amount = if was.is_empty() {
                Cell::Money(p.int("amountCents"), currency)
            } else {
                Cell::Plain(format!("{} → {}", was.join(" → "), ui.money(p.int("amountCents"), currency)))
            };
            vec![
                known(p.text("type").unwrap_or_default(), i18n::entry),
                method,
                amount,
                Cell::badge("entry", p.text("status").unwrap_or_default(), i18n::entry_status),
                Cell::opt(p.text("transactionRef").or_else(|| p.text("note"))),
                Cell::opt(p.text("createdBy").or_else(|| p.text("createdVia"))),
                Cell::opt(p.text("updatedBy")),
                Cell::Time(p.text("updatedAt").unwrap_or_default()),
            ]
        })
        .collect();
    let manage = ui.can(Permission::OrdersManage);
    let row_actions = payments
        .iter()
        .filter(|_| manage)
        .map(|p| (describe(&ui, p, currency), entry_actions(&ui, &id, p, currency)))
        .filter(|(_, actions)| !actions.is_empty())
        .map(|(title, actions)| view! { <div class="entry-actions"><h3>{title}</h3><Actions actions done=Reload::callback()/></div> })
        .collect_view();
    let record = manage.then(|| record(&ui, &id, order.int("balanceCents").max(0), currency));
    view! {
        <h1 tabindex="-1" class="with-status">
            <crate::widgets::CellView cell=money("totalCents")/>
            <crate::widgets::CellView cell=Cell::badge("status", order.text("status").unwrap_or_default(), i18n::order_status)/>
        </h1>
        <p class="muted">{id.clone()}</p>
        <div class="columns">
            <section aria-labelledby="details-title">
                <h2 id="details-title">{tr(Text::Details)}</h2>
                <Details items=vec![
                    (Text::Total, money("totalCents")),
                    (Text::Balance, money("balanceCents")),
                    (Text::Customer, Cell::opt(order.text("customerId"))),
                    (Text::Created, Cell::Time(order.text("createdAt").unwrap_or_default())),
                ]/>
            </section>
            <section aria-labelledby="actions-title" class="actions">
                <h2 id="actions-title">{tr(Text::Actions)}</h2>
                {record.map(|action| view! { <Actions actions=vec![action] done=Reload::callback()/> })}
                {(!manage).then(|| view! { <p class="muted">{tr(Text::NoActions)}</p> })}
            </section>
        </div>
        <section aria-labelledby="items-title">
            <h2 id="items-title">{tr(Text::LineItems)}</h2>
            <Table columns=vec![Text::Item, Text::Quantity, Text::UnitPrice, Text::Amount] rows=items label=Text::LineItems/>
        </section>
        <section aria-labelledby="ledger-title">
            <h2 id="ledger-title">{tr(Text::Ledger)}</h2>
            <Table columns=vec![Text::Entry, Text::Method, Text::Amount, Text::EntryStatus, Text::TransactionRef, Text::RecordedBy, Text::ChangedBy, Text::When] rows=ledger label=Text::Ledger/>
            {row_actions}
        </section>
    }
    .into_any()
}

/// "Cheque · €50.00 · Pending", to head a ledger payment's actions.
fn describe(ui: &Ui, payment: &JsJson, currency: Currency) -> String {
    let locale = ui.locale.get_untracked();
    let method = payment.text("methodId").unwrap_or_default();
    let name = i18n::pick(i18n::method(&method), locale);
    let status = i18n::pick(i18n::entry_status(&payment.text("status").unwrap_or_default()), locale);
    format!("{} · {} · {}", if name.is_empty() { &method } else { name }, ui.money(payment.int("amountCents"), currency), status)
}

fn means_field(value: &str) -> Field {
    let choices = i18n::METHODS[..3].iter().map(|m| ((*m).to_owned(), Cell::Words(i18n::method(m)))).collect();
    Field::new("change-method", Text::Method, Kind::Choice(choices)).with(value)
}

/// Recording a manual payment: cash, cheque or another way; pending (a cheque not yet cleared)
/// or received.
fn record(ui: &Ui, order: &str, balance: i64, currency: Currency) -> Action {
    let (ui, path) = (*ui, format!("/orders/{order}/payments"));
    let states = ["complete", "pending"].iter().map(|s| ((*s).to_owned(), Cell::Words(i18n::entry_status(s)))).collect();
    Action {
        id: "action-record".into(),
        label: Text::RecordPayment,
        fields: vec![
            means_field("cash"),
            Field::new("change-amount", Text::Amount, Kind::Amount).with(currency.format_amount(balance)),
            Field::new("change-status", Text::EntryStatus, Kind::Choice(states)).with("complete"),
            Field::new("change-ref", Text::TransactionRef, Kind::Text("off")),
            Field::new("change-note", Text::Note, Kind::Text("off")),
        ],
        plan: Rc::new(move |typed| {
            let minor = ui.typed_amount(&typed[1], currency, MAX_AMOUNT_CENTS, false)?;
            let mut body = vec![
                ("type", api::string("receipt")),
                ("methodId", api::string(&typed[0])),
                ("amountCents", api::integer(minor)),
                ("status", api::string(&typed[2])),
            ];
            for (key, value) in [("transactionRef", &typed[3]), ("note", &typed[4])] {
                if !value.trim().is_empty() {
                    body.push((key, api::string(value.trim())));
                }
            }
            Ok(Request::new(
                ui.t(Text::ConfirmRecord).replace("{amount}", &ui.money(minor, currency)),
                "POST",
                path.clone(),
                api::object(body),
            ))
        }),
    }
}

/// What a ledger payment's `can` allows: confirm, correct, remove (pending) or reverse.
fn entry_actions(ui: &Ui, order: &str, payment: &JsJson, currency: Currency) -> Vec<Action> {
    let ui = *ui;
    let uid = payment.text("id").unwrap_or_default();
    let base = format!("/orders/{order}/payments/{uid}");
    let minor = payment.int("amountCents");
    let question = move |text: Text, minor: i64| ui.t(text).replace("{amount}", &ui.money(minor, currency));
    let simple = |id: &str, label: Text, confirm: Text, method: &'static str, path: String| Action {
        id: format!("{id}-{uid}"),
        label,
        fields: vec![],
        plan: Rc::new(move |_| Ok(Request::new(question(confirm, minor), method, path.clone(), api::object(vec![])))),
    };
    payment
        .list("can")
        .iter()
        .filter_map(|can| can.string())
        .filter_map(|can| match can.as_str() {
            "confirm" => Some(simple("confirm", Text::MarkReceived, Text::ConfirmReceived, "POST", format!("{base}/confirm"))),
            "delete" => Some(simple("remove", Text::Remove, Text::ConfirmRemove, "DELETE", base.clone())),
            "reverse" => Some(simple("reverse", Text::Reverse, Text::ConfirmReverse, "DELETE", base.clone())),
            "update" => {
                let path = base.clone();
                Some(Action {
                    id: format!("correct-{uid}"),
                    label: Text::Correct,
                    fields: vec![
                        means_field(&payment.text("methodId").unwrap_or_default()),
                        Field::new("change-amount", Text::Amount, Kind::Amount).with(currency.format_amount(minor)),
                        Field::new("change-ref", Text::TransactionRef, Kind::Text("off"))
                            .with(payment.text("transactionRef").unwrap_or_default()),
                        Field::new("change-note", Text::Note, Kind::Text("off")).with(payment.text("note").unwrap_or_default()),
                    ],
                    plan: Rc::new(move |typed| {
                        let corrected = ui.typed_amount(&typed[1], currency, MAX_AMOUNT_CENTS, false)?;
                        let body = api::object(vec![
                            ("methodId", api::string(&typed[0])),
                            ("amountCents", api::integer(corrected)),
                            ("transactionRef", api::string(typed[2].trim())),
                            ("note", api::string(typed[3].trim())),
                        ]);
                        Ok(Request::new(question(Text::ConfirmCorrect, corrected), "PATCH", path.clone(), body))
                    }),
                })
            }
            _ => None,
        })
        .collect()
}
