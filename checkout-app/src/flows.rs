//! The remote calls: loading the intent (and the saved cards), re-reading it, paying.

use super::*;

/// The intent the checkout is for, as Kassa has it now.
pub(crate) async fn retrieve(ui: Ui) -> Result<Intent, KassaError> {
    let client = ui.client();
    client.run::<JsJson>(client.api().retrieve_payment_intent(&ui.opts().client_secret)).await.and_then(Intent::read)
}

pub(crate) fn load(ui: Ui) {
    spawn_local(async move {
        let options = ui.opts();
        match retrieve(ui).await {
            Ok(intent) => {
                let done = intent.is_paid();
                tell_parent(
                    options.parent_origin.as_deref(),
                    CheckoutMessage::Ready { amount_cents: kassa::MinorUnits(intent.amount_cents), currency: intent.currency },
                );
                ui.intent.set(Some(intent));
                let screen = match (done, options.mode) {
                    (true, _) => Screen::Done,
                    (false, Mode::Kiosk) => Screen::Tip,
                    (false, Mode::Embedded) => Screen::Pay,
                };
                // The card form may already be showing, with what the customer typed and the focus.
                if ui.screen.get_untracked() != screen {
                    ui.screen.set(screen);
                }
            }
            Err(error) => {
                tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Error { error: error.clone() });
                ui.screen.set(Screen::Failed(error_message(&ui, &error)));
            }
        }
        if let Some(session) = &options.customer_session {
            let client = ui.client();
            if let Ok(saved) = client.run::<JsJson>(client.api().list_payment_methods(session)).await.and_then(SavedCard::read_list) {
                ui.chosen.set(saved.first().map(|m| m.id.clone()));
                ui.saved.set(saved);
            }
        }
    });
}

/// Re-reads the intent (the shop changed its amount) without leaving the screen.
pub(crate) fn refresh(ui: Ui) {
    ui.refreshing.dispatch_local(ui);
}

/// Confirms the payment with the chosen saved card or the typed one, once at a time.
pub(crate) fn pay(ui: Ui) {
    // Nobody pays before seeing the amount.
    if ui.paying.pending().get_untracked() || ui.intent.with_untracked(Option::is_none) {
        return;
    }
    let options = ui.opts();
    let mut params = ConfirmParams {
        handle_actions: true,
        tip_cents: ui.tip.get_untracked().filter(|t| *t > 0).map(kassa::MinorUnits),
        // The bank's page opens inside this frame, inside the shop's page: both must admit it.
        frame_ancestors: options.parent_origin.iter().cloned().collect(),
        // A saved card pays, and a card is saved, only in the customer's session.
        customer_session: options.customer_session.clone(),
        ..ConfirmParams::default()
    };
    match ui.chosen.get_untracked() {
        Some(method) => params.payment_method_id = Some(method),
        None => {
            ui.left.set([true; 3]);
            let errors = ui.field_errors();
            if let Some(first) = errors.iter().position(Option::is_some) {
                focus(["card-number", "card-expiry", "card-cvc"][first]);
                return;
            }
            let Ok(expiry) = parse_expiry(&ui.expiry.get_untracked(), today()) else { return };
            let text = |s: RwSignal<String>| Some(s.get_untracked().trim().to_owned()).filter(|v| !v.is_empty());
            params.card = Some(CardDetails {
                number: digits(&ui.number.get_untracked()),
                exp_month: expiry.month,
                exp_year: expiry.year,
                cvc: text(ui.cvc),
                name: text(ui.name),
                postal_code: text(ui.postal),
            });
            params.save_card = options.customer_session.is_some() && ui.save_card.get_untracked();
        }
    }
    ui.error.set(None);
    ui.paying.dispatch_local((ui, params));
}

/// Shows what the remote calls answered: the latest refresh, and each payment's outcome.
pub(crate) fn show_answers(ui: Ui) {
    Effect::new(move |_| {
        if let Some(Some(intent)) = ui.refreshing.value().get() {
            ui.intent.set(Some(intent));
        }
    });
    // Only a new outcome runs this: what it reads to show the outcome is not tracked.
    Effect::new(move |_| {
        let Some(result) = ui.paying.value().get() else { return };
        untrack(move || show_outcome(ui, result));
    });
}

fn show_outcome(ui: Ui, result: Result<Intent, KassaError>) {
    let options = ui.opts();
    match result {
        Ok(intent) if intent.is_paid() => {
            tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Success { payment_intent: Box::new((*intent.json).clone()) });
            ui.intent.set(Some(intent));
            ui.screen.set(Screen::Done);
            focus("result-title");
        }
        Ok(intent) => {
            ui.intent.set(Some(intent));
            ui.error.set(Some(ui.tr(Text::ErrorGeneric).into()));
        }
        Err(error) => {
            tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Error { error: error.clone() });
            ui.error.set(Some(error_message(&ui, &error)));
            if error.kind == ErrorType::CardError && ui.chosen.get_untracked().is_none() {
                focus("card-number");
            } else {
                focus("pay");
            }
        }
    }
}
