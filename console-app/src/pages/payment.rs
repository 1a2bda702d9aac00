//! One payment: its details, its full processor history (3-D Secure steps, AVS and CVC results
//! included), and what may be done with it — each change confirmed with its amount.

use std::rc::Rc;

use kassa::api::{IntentStatus, IntentWithHistory, PaymentIntent, Permission};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use super::payments::card_text;
use crate::i18n::{self, Text};
use crate::platform::parse_amount;
use crate::route::{Link, Page, Route};
use crate::widgets::{Confirm, Field, Pending, Running, Status};
use crate::{api, use_ui, Ui};

#[component]
pub fn Payment(id: String) -> impl IntoView {
    let ui = use_ui();
    let data = LocalResource::new(move || {
        let path = format!("/payments/transactions/{id}");
        async move { api::get::<IntentWithHistory>(&path).await }
    });
    let pending = RwSignal::new_local(None::<Pending>);
    let notice = RwSignal::new(None::<Text>);
    let done = Callback::new(move |_| {
        notice.set(Some(Text::Done));
        data.refetch();
    });
    view! {
        <p class="back"><Link to=Route::to(Page::Payments)>{move || ui.t(Text::Back)}</Link></p>
        <Suspense fallback=move || view! { <p role="status">{ui.t(Text::Loading)}</p> }>
            {move || data.get().map(|answer| match answer {
                Err(failure) => view! {
                    <h1 tabindex="-1">{move || ui.t(Text::Error)}</h1>
                    <p class="error" role="alert">{ui.failed(&failure)}</p>
                }.into_any(),
                Ok(found) => view! { <Detail found pending/> }.into_any(),
            })}
        </Suspense>
        <p class="notice" role="status">{move || notice.get().map(|n| ui.t(n))}</p>
        <Confirm pending done/>
    }
}

#[component]
fn Detail(found: IntentWithHistory, pending: RwSignal<Option<Pending>, LocalStorage>) -> impl IntoView {
    let ui = use_ui();
    let intent = found.intent;
    let currency = intent.currency;
    let total = i64::from(intent.amount_cents) + i64::from(intent.tip_cents);
    let row = |label: Text, value: Option<String>| {
        value.filter(|v| !v.is_empty()).map(|value| view! { <dt>{move || ui.t(label)}</dt><dd>{value}</dd> })
    };
    let money = move |minor: i64| Some(ui.money(minor, currency));
    let details = view! {
        <dl class="details">
            {row(Text::Amount, money(intent.amount_cents.into()))}
            {row(Text::Tip, money(intent.tip_cents.into()).filter(|_| i64::from(intent.tip_cents) != 0))}
            {row(Text::Captured, money(intent.captured_amount_cents.into()))}
            {row(Text::Refunded, money(intent.refunded_amount_cents.into()).filter(|_| i64::from(intent.refunded_amount_cents) != 0))}
            {row(Text::Card, Some(card_text(&intent)))}
            {row(Text::AuthCode, intent.auth_code.clone())}
            {row(Text::Avs, intent.avs_response.clone())}
            {row(Text::Cvc, intent.cvv_response.clone())}
            {row(Text::ProviderReference, intent.provider_reference.clone())}
            {row(Text::Reference, intent.reference.clone())}
            {row(Text::Customer, intent.customer_id.clone())}
            {row(Text::LastError, intent.last_error.as_ref().map(|e| e.message.clone()))}
            {row(Text::Created, Some(ui.time(&intent.created_at)))}
            {intent.order_id.as_ref().map(|order| {
                let order = order.to_string();
                view! { <dt>{move || ui.t(Text::Order)}</dt><dd><Link to=Route::to(Page::Order(order.clone()))>{order.clone()}</Link></dd> }
            })}
        </dl>
    };
    let history = found.transactions.into_iter().map(|t| {
        let amount = ui.money(i64::from(t.amount_cents), t.currency);
        let response = if t.response_text.is_empty() { t.response_code.clone() } else { format!("{} · {}", t.response_code, t.response_text) };
        let created = t.created_at.clone();
        view! {
            <tr>
                <td data-label=move || ui.t(Text::Type)>{move || i18n::step(t.kind, ui.locale.get())}</td>
                <td data-label=move || ui.t(Text::Result)><span class="outcome" data-outcome=format!("{:?}", t.status).to_lowercase()>{move || i18n::outcome(t.status, ui.locale.get())}</span></td>
                <td data-label=move || ui.t(Text::Amount)>{amount}</td>
                <td data-label=move || ui.t(Text::Response)>{response}</td>
                <td data-label=move || ui.t(Text::By)>{t.created_by.clone().unwrap_or_default()}</td>
                <td data-label=move || ui.t(Text::When)>{move || ui.time(&created)}</td>
            </tr>
        }
    }).collect_view();
    view! {
        <h1 tabindex="-1" class="with-status">
            <span data-testid="payment-amount">{move || ui.money(total, currency)}</span>
            <Status status=intent.status/>
        </h1>
        <p class="muted">{intent.id.to_string()}</p>
        <div class="columns">
            <section aria-labelledby="details-title">
                <h2 id="details-title">{move || ui.t(Text::Details)}</h2>
                {details}
            </section>
            <Actions intent=intent.clone() pending/>
        </div>
        <section aria-labelledby="history-title">
            <h2 id="history-title">{move || ui.t(Text::History)}</h2>
            <table class="rows history">
                <thead><tr>
                    <th scope="col">{move || ui.t(Text::Type)}</th>
                    <th scope="col">{move || ui.t(Text::Result)}</th>
                    <th scope="col">{move || ui.t(Text::Amount)}</th>
                    <th scope="col">{move || ui.t(Text::Response)}</th>
                    <th scope="col">{move || ui.t(Text::By)}</th>
                    <th scope="col">{move || ui.t(Text::When)}</th>
                </tr></thead>
                <tbody>{history}</tbody>
            </table>
        </section>
    }
}

/// A change that can be made to a payment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    Capture,
    Void,
    Refund,
    Tip,
}

impl Change {
    fn label(self) -> Text {
        match self {
            Change::Capture => Text::Capture,
            Change::Void => Text::Void,
            Change::Refund => Text::Refund,
            Change::Tip => Text::AdjustTip,
        }
    }

    /// Whether the change applies to a payment in `status`, and the user may make it.
    fn offered(self, status: IntentStatus, ui: &Ui) -> bool {
        use IntentStatus::*;
        match self {
            Change::Capture => status == Authorized && ui.can(Permission::TransactionsCreate),
            Change::Void => status == Authorized && ui.can(Permission::TransactionsVoid),
            Change::Refund => matches!(status, Captured | PartiallyRefunded) && ui.can(Permission::TransactionsVoid),
            Change::Tip => matches!(status, Authorized | Captured) && ui.can(Permission::TransactionsCreate),
        }
    }

    /// The amount the form starts with, and the most it takes.
    fn amounts(self, intent: &PaymentIntent) -> (i64, i64) {
        let total = i64::from(intent.amount_cents) + i64::from(intent.tip_cents);
        match self {
            Change::Capture | Change::Void => (total, total),
            Change::Refund => {
                let left = i64::from(intent.captured_amount_cents) - i64::from(intent.refunded_amount_cents);
                (left, left)
            }
            Change::Tip => (intent.tip_cents.into(), i64::from(intent.amount_cents)),
        }
    }
}

#[component]
fn Actions(intent: PaymentIntent, pending: RwSignal<Option<Pending>, LocalStorage>) -> impl IntoView {
    let ui = use_ui();
    let offered: Vec<Change> = [Change::Capture, Change::Refund, Change::Tip, Change::Void].into_iter().filter(|c| c.offered(intent.status, &ui)).collect();
    let open = RwSignal::new(None::<Change>);
    let amount = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let intent = std::sync::Arc::new(intent);
    let currency = intent.currency;

    let choose = {
        let intent = intent.clone();
        move |change: Change| {
            let (start, _) = change.amounts(&intent);
            amount.set(currency.format_amount(start));
            reason.set(String::new());
            error.set(None);
            open.set(Some(change));
        }
    };
    let submit = {
        let intent = intent.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let Some(change) = open.get_untracked() else { return };
            let (_, most) = change.amounts(&intent);
            let minor = if change == Change::Void { Some(most) } else { parse_amount(&amount.get_untracked(), currency).filter(|m| *m <= most && (change == Change::Tip || *m > 0)) };
            let Some(minor) = minor else {
                error.set(Some(ui.t(Text::InvalidAmount).replace("{amount}", &ui.money(most, currency))));
                return;
            };
            error.set(None);
            let question = match change {
                Change::Capture => Text::ConfirmCapture,
                Change::Void => Text::ConfirmVoid,
                Change::Refund => Text::ConfirmRefund,
                Change::Tip => Text::ConfirmTip,
            };
            let id = intent.id.to_string();
            let (path, body) = match change {
                Change::Capture => ("/payments/capture".to_owned(), json!({ "paymentIntentId": id, "amountCents": minor })),
                Change::Void => ("/payments/void".to_owned(), json!({ "paymentIntentId": id })),
                Change::Refund => {
                    let reason = reason.get_untracked();
                    let mut body = json!({ "paymentIntentId": id, "amountCents": minor });
                    if !reason.trim().is_empty() {
                        body["reason"] = json!(reason.trim());
                    }
                    ("/payments/refund".to_owned(), body)
                }
                Change::Tip => (format!("/payments/{id}/tip"), json!({ "tipCents": minor })),
            };
            // One key for this confirmation: confirming again after an error cannot change twice.
            let key = api::new_key();
            let run = Rc::new(move || {
                let (path, body, key) = (path.clone(), body.clone(), key.clone());
                Box::pin(async move {
                    api::send::<serde_json::Value>("POST", &path, &body, &key).await.map(|_| ()).map_err(|f| ui.failed(&f))
                }) as Running
            });
            open.set(None);
            pending.set(Some(Pending { question: ui.t(question).replace("{amount}", &ui.money(minor, currency)), confirm: change.label(), run }));
        }
    };

    let buttons = offered.iter().map(|change| {
        let (change, choose) = (*change, choose.clone());
        view! {
            <button type="button" class="secondary" id=format!("action-{:?}", change).to_lowercase() aria-expanded=move || (open.get() == Some(change)).to_string()
                on:click=move |_| choose(change)>{move || ui.t(change.label())}</button>
        }
    }).collect_view();
    let nothing = offered.is_empty();
    view! {
        <section aria-labelledby="actions-title" class="actions">
            <h2 id="actions-title">{move || ui.t(Text::Actions)}</h2>
            {nothing.then(|| view! { <p class="muted">{move || ui.t(Text::NoActions)}</p> })}
            <div class="buttons">{buttons}</div>
            {move || open.get().map(|change| view! {
                <form class="change" on:submit=submit.clone()>
                    {(change != Change::Void).then(|| view! { <Field id="change-amount" label=Text::Amount value=amount inputmode="decimal"/> })}
                    {(change == Change::Refund).then(|| view! { <Field id="change-reason" label=Text::Reason value=reason/> })}
                    <p class="error" role="alert">{move || error.get()}</p>
                    <div class="buttons">
                        <button type="submit" class="primary">{move || ui.t(change.label())}"…"</button>
                        <button type="button" class="quiet" on:click=move |_| open.set(None)>{move || ui.t(Text::Cancel)}</button>
                    </div>
                </form>
            })}
        </section>
    }
}
