//! Kassa's checkout, rendered in the browser: order summary, card form, saved cards, 3-D Secure,
//! result screens, and a kiosk mode with a tip screen. It uses the `kassa` client flows from Rust.

mod card_fields;
pub mod host;
pub mod i18n;
pub mod options;
mod platform;

use std::rc::Rc;

use kassa::api::{IntentStatus, PaymentIntent, SavedPaymentMethod};
use kassa::client::{CardDetails, Client, ConfirmParams, ErrorType, KassaError};
use kassa::messages::{ChallengeMessage, CheckoutMessage, ParentMessage, Theme, CheckoutUpdate};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use card_fields::*;
use host::{finish_challenge, BrowserHost, Challenge};
use i18n::{t, Text};
use options::{Mode, Options};
use platform::{focus, money, now_ms, tell_parent};

#[derive(Debug, Clone, PartialEq)]
enum Screen {
    Loading,
    Tip,
    Pay,
    Done,
    Failed(String),
}

/// Everything the screens share, provided as context by [`App`]: the options the shop's page
/// chose, the client, and the state of the form. Every field is a cheap handle.
#[derive(Clone, Copy)]
struct Ui {
    options: StoredValue<Rc<Options>, LocalStorage>,
    client: StoredValue<Rc<Client<BrowserHost>>, LocalStorage>,
    locale: RwSignal<String>,
    screen: RwSignal<Screen>,
    intent: RwSignal<Option<PaymentIntent>>,
    saved: RwSignal<Vec<SavedPaymentMethod>>,
    chosen: RwSignal<Option<String>>,
    number: RwSignal<String>,
    expiry: RwSignal<String>,
    cvc: RwSignal<String>,
    name: RwSignal<String>,
    postal: RwSignal<String>,
    left: RwSignal<[bool; 3]>,
    save_card: RwSignal<bool>,
    tip: RwSignal<Option<i64>>,
    custom_tip: RwSignal<String>,
    in_flight: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    challenge: RwSignal<Option<Challenge>>,
    last_activity: RwSignal<f64>,
}

impl Ui {
    /// A checkout for `options` with nothing loaded or typed yet. `challenge` is the one its
    /// client's host shows.
    fn new(options: Options, client: Client<BrowserHost>, challenge: RwSignal<Option<Challenge>>) -> Ui {
        Ui {
            locale: RwSignal::new(options.locale.clone()),
            options: StoredValue::new_local(Rc::new(options)),
            client: StoredValue::new_local(Rc::new(client)),
            screen: RwSignal::new(Screen::Loading),
            intent: RwSignal::new(None),
            saved: RwSignal::new(Vec::new()),
            chosen: RwSignal::new(None),
            number: RwSignal::new(String::new()),
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            postal: RwSignal::new(String::new()),
            left: RwSignal::new([false; 3]),
            save_card: RwSignal::new(false),
            tip: RwSignal::new(None),
            custom_tip: RwSignal::new(String::new()),
            in_flight: RwSignal::new(false),
            error: RwSignal::new(None),
            challenge,
            last_activity: RwSignal::new(now_ms()),
        }
    }

    fn opts(&self) -> Rc<Options> {
        self.options.get_value()
    }

    fn client(&self) -> Rc<Client<BrowserHost>> {
        self.client.get_value()
    }

    fn tr(&self, text: Text) -> &'static str {
        t(&self.locale.get(), text)
    }

    fn amounts(&self) -> Option<(i64, i64, kassa::Currency)> {
        self.intent.with(|i| i.as_ref().map(|i| (i.amount_cents, self.tip.get().unwrap_or(0), i.currency)))
    }

    fn money(&self, minor: i64) -> String {
        let currency = self.intent.with(|i| i.as_ref().map(|i| i.currency)).unwrap_or(kassa::Currency::USD);
        money(minor, currency, &self.locale.get())
    }

    /// The errors of the card fields, shown once each field was left.
    fn field_errors(&self) -> [Option<Text>; 3] {
        let number = self.number.get();
        [
            number_error(&number),
            parse_expiry(&self.expiry.get(), today()).err(),
            cvc_error(&self.cvc.get(), &number),
        ]
    }

    fn shown_error(&self, field: usize) -> Option<&'static str> {
        if self.left.get()[field] { self.field_errors()[field].map(|key| self.tr(key)) } else { None }
    }

    fn reset_form(&self) {
        for field in [self.number, self.expiry, self.cvc, self.name, self.postal, self.custom_tip] {
            field.set(String::new());
        }
        self.left.set([false; 3]);
        self.error.set(None);
        self.tip.set(None);
        self.chosen.set(self.saved.with_untracked(|s| s.first().map(|m| m.id.to_string())));
    }
}

/// The checkout's state, which [`App`] provides.
fn use_ui() -> Ui {
    expect_context::<Ui>()
}

fn error_message(ui: &Ui, error: &KassaError) -> String {
    let locale = ui.locale.get_untracked();
    match error.kind {
        ErrorType::CardError => format!("{} {}", i18n::decline(&locale, error.decline_code.as_deref()), t(&locale, Text::TryAnother)),
        ErrorType::ValidationError => error.message.clone(),
        _ => t(&locale, Text::ErrorGeneric).into(),
    }
}

fn load(ui: Ui) {
    spawn_local(async move {
        let options = ui.opts();
        match ui.client().retrieve_payment_intent(&options.client_secret).await {
            Ok(intent) => {
                let done = matches!(intent.status, IntentStatus::Captured | IntentStatus::Authorized);
                tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Ready { amount_cents: intent.amount_cents, currency: intent.currency });
                ui.intent.set(Some(intent));
                ui.screen.set(match (done, options.mode) {
                    (true, _) => Screen::Done,
                    (false, Mode::Kiosk) => Screen::Tip,
                    (false, Mode::Embedded) => Screen::Pay,
                });
            }
            Err(error) => {
                tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Error { error: error.clone() });
                ui.screen.set(Screen::Failed(error_message(&ui, &error)));
            }
        }
        if let Some(session) = &options.customer_session {
            if let Ok(saved) = ui.client().list_payment_methods(session).await {
                ui.chosen.set(saved.first().map(|m| m.id.to_string()));
                ui.saved.set(saved);
            }
        }
    });
}

/// Re-reads the intent (the shop changed its amount) without leaving the screen.
fn refresh(ui: Ui) {
    spawn_local(async move {
        if let Ok(intent) = ui.client().retrieve_payment_intent(&ui.opts().client_secret).await {
            ui.intent.set(Some(intent));
        }
    });
}

fn pay(ui: Ui) {
    if ui.in_flight.get_untracked() {
        return;
    }
    let options = ui.opts();
    let mut params = ConfirmParams {
        handle_actions: true,
        tip_cents: ui.tip.get_untracked().filter(|t| *t > 0),
        // The bank's page opens inside this frame, inside the shop's page: both must admit it.
        frame_ancestors: options.parent_origin.iter().cloned().collect(),
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
    ui.in_flight.set(true);
    ui.error.set(None);
    spawn_local(async move {
        let result = ui.client().confirm_payment(&options.client_secret, &params).await;
        ui.in_flight.set(false);
        match result {
            Ok(intent) if matches!(intent.status, IntentStatus::Captured | IntentStatus::Authorized) => {
                tell_parent(options.parent_origin.as_deref(), CheckoutMessage::Success { payment_intent: Box::new(intent.clone()) });
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
    });
}

#[component]
pub fn App() -> impl IntoView {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let options = Options::from_fragment(&hash);
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let challenge = RwSignal::new(None::<Challenge>);
    let client = Client::new(BrowserHost { challenge }, options.publishable_key.clone(), origin.clone());
    let ui = Ui::new(options, client, challenge);
    provide_context(ui);
    let options = ui.opts();
    let document = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
    if let Some(root) = &document {
        let _ = root.set_attribute("data-theme", &options.theme);
        let _ = root.set_attribute("data-mode", if options.mode == Mode::Kiosk { "kiosk" } else { "embedded" });
        if let Some(root) = root.dyn_ref::<web_sys::HtmlElement>() {
            for (name, value) in &options.variables {
                let _ = root.style().set_property(name, value);
            }
        }
    }
    Effect::new(move |_| {
        let locale = ui.locale.get();
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", &locale);
        }
    });
    listen_to_parent(ui);
    listen_to_bank(ui, origin);
    report_size(ui);
    if ui.opts().mode == Mode::Kiosk {
        watch_idle(ui);
    }
    // The shop hears whether the form is complete, to enable its own controls.
    Effect::new(move |_| {
        let complete = ui.chosen.get().is_some() || ui.field_errors().iter().all(Option::is_none);
        tell_parent(ui.opts().parent_origin.as_deref(), CheckoutMessage::Change { complete, brand: brand(&ui.number.get()) });
    });
    load(ui);

    view! {
        <main class="checkout" aria-labelledby="checkout-title">
            {move || match ui.screen.get() {
                Screen::Loading => view! { <p class="loading" role="status">{move || ui.tr(Text::Loading)}</p> }.into_any(),
                Screen::Tip => view! { <TipScreen/> }.into_any(),
                Screen::Pay => view! { <PayScreen/> }.into_any(),
                Screen::Done => view! { <DoneScreen/> }.into_any(),
                Screen::Failed(message) => view! {
                    <section class="result failed">
                        <h1 id="checkout-title" tabindex="-1">{move || ui.tr(Text::Failed)}</h1>
                        <p role="alert">{message}</p>
                    </section>
                }.into_any(),
            }}
            <ChallengeModal/>
        </main>
    }
}

#[component]
fn Summary() -> impl IntoView {
    let ui = use_ui();
    view! {
        <section class="summary" aria-labelledby="summary-title">
            <h2 id="summary-title" class="visually-hidden">{move || ui.tr(Text::Summary)}</h2>
            <ul class="lines">
                {move || ui.intent.with(|i| i.as_ref().map(|i| i.line_items.clone()).unwrap_or_default()).into_iter().map(|line| {
                    let total = line.unit_amount_cents * i64::from(line.quantity);
                    view! {
                        <li>
                            <span class="line-name">{line.name.clone()}" × "{line.quantity}</span>
                            <span class="line-amount">{move || ui.money(total)}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || (ui.tip.get().unwrap_or(0) > 0).then(|| view! {
                <p class="row"><span>{move || ui.tr(Text::Subtotal)}</span><span>{move || ui.amounts().map(|(a, _, _)| ui.money(a))}</span></p>
                <p class="row"><span>{move || ui.tr(Text::Tip)}</span><span data-testid="tip-amount">{move || ui.amounts().map(|(_, t, _)| ui.money(t))}</span></p>
            })}
            <p class="row total"><span>{move || ui.tr(Text::Total)}</span>
                <span data-testid="total">{move || ui.amounts().map(|(a, t, _)| ui.money(a + t))}</span></p>
        </section>
    }
}

#[component]
fn TipScreen() -> impl IntoView {
    let ui = use_ui();
    let choose = move |tip: i64| {
        ui.tip.set(Some(tip));
        ui.screen.set(Screen::Pay);
    };
    let percent = move |p: i64| ui.amounts().map(|(amount, _, _)| (amount * p + 50) / 100).unwrap_or(0);
    let custom_error = RwSignal::new(false);
    let custom = move || {
        let Some((amount, _, currency)) = ui.amounts() else { return };
        match currency.parse_amount(&ui.custom_tip.get_untracked().replace(',', ".")) {
            Ok(tip) if (0..=amount).contains(&tip) => choose(tip),
            _ => custom_error.set(true),
        }
    };
    view! {
        <section class="tip-screen" aria-labelledby="checkout-title">
            <h1 id="checkout-title" tabindex="-1">{move || ui.tr(Text::TipTitle)}</h1>
            <Summary/>
            <div class="tip-options">
                {[15, 18, 20].into_iter().map(|p| view! {
                    <button type="button" class="tip-option" on:click=move |_| choose(percent(p))>
                        <span class="tip-percent">{format!("{p} %")}</span>
                        <span class="tip-value">{move || ui.money(percent(p))}</span>
                    </button>
                }).collect_view()}
                <button type="button" class="tip-option" on:click=move |_| choose(0)>{move || ui.tr(Text::NoTip)}</button>
            </div>
            <form class="tip-custom" on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); custom(); }>
                <label for="custom-tip">{move || ui.tr(Text::CustomLabel)}</label>
                <input id="custom-tip" inputmode="decimal" autocomplete="off"
                    aria-invalid=move || custom_error.get().to_string() aria-describedby="custom-tip-error"
                    prop:value=move || ui.custom_tip.get()
                    on:input=move |ev| { custom_error.set(false); ui.custom_tip.set(event_target_value(&ev)); }/>
                <button type="submit" class="secondary">{move || ui.tr(Text::Continue)}</button>
                <p id="custom-tip-error" class="field-error" aria-live="polite">{move || custom_error.get().then(|| ui.tr(Text::ErrTipAmount))}</p>
            </form>
        </section>
    }
}

#[component]
fn Field(id: &'static str, label: Text, value: RwSignal<String>, index: Option<usize>, autocomplete: &'static str, inputmode: &'static str, format: fn(&str) -> String) -> impl IntoView {
    let ui = use_ui();
    let error_id = format!("{id}-error");
    let error = move || index.and_then(|i| ui.shown_error(i));
    view! {
        <div class="field" class:invalid=move || error().is_some()>
            <label for=id>{move || ui.tr(label)}</label>
            <input id=id name=id autocomplete=autocomplete inputmode=inputmode spellcheck="false"
                aria-invalid=move || error().is_some().to_string() aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(format(&event_target_value(&ev)))
                on:blur=move |_| if let Some(i) = index { ui.left.update(|left| left[i] = true) }/>
            <p id=error_id class="field-error" aria-live="polite">{error}</p>
        </div>
    }
}

#[component]
fn PayScreen() -> impl IntoView {
    let ui = use_ui();
    let new_card = move || ui.chosen.get().is_none();
    let pay_label = move || {
        if ui.in_flight.get() {
            ui.tr(Text::Processing).to_owned()
        } else {
            format!("{} {}", ui.tr(Text::Pay), ui.amounts().map(|(a, t, _)| ui.money(a + t)).unwrap_or_default())
        }
    };
    let card_brand = move || brand(&ui.number.get());
    view! {
        <form class="pay-screen" novalidate on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); pay(ui); }>
            <h1 id="checkout-title" tabindex="-1">{move || ui.tr(Text::Title)}</h1>
            <Summary/>
            {move || (!ui.saved.get().is_empty()).then(|| view! {
                <fieldset class="saved">
                    <legend>{move || ui.tr(Text::SavedCards)}</legend>
                    {move || ui.saved.get().into_iter().map(|method| {
                        let id = method.id.to_string();
                        let checked = { let id = id.clone(); move || ui.chosen.get().as_deref() == Some(id.as_str()) };
                        view! {
                            <label class="choice">
                                <input type="radio" name="payment-method" prop:checked=checked
                                    on:change=move |_| ui.chosen.set(Some(id.clone()))/>
                                <span>{brand_label(method.card.brand)}" "{move || ui.tr(Text::Ending)}" "{method.card.last4.clone()}
                                    " · "{format!("{:02}/{}", method.card.exp_month, method.card.exp_year % 100)}</span>
                            </label>
                        }
                    }).collect_view()}
                    <label class="choice">
                        <input type="radio" name="payment-method" prop:checked=new_card on:change=move |_| ui.chosen.set(None)/>
                        <span>{move || ui.tr(Text::NewCard)}</span>
                    </label>
                </fieldset>
            })}
            <Show when=new_card>
                <div class="card-fields">
                    <div class="number-row">
                        <Field id="card-number" label=Text::CardNumber value=ui.number index=Some(0) autocomplete="cc-number" inputmode="numeric" format=group_number/>
                        <span class="brand" data-brand=move || card_brand().as_str() aria-hidden="true">{move || brand_label(card_brand())}</span>
                    </div>
                    <div class="pair">
                        <Field id="card-expiry" label=Text::Expiry value=ui.expiry index=Some(1) autocomplete="cc-exp" inputmode="numeric" format=group_expiry/>
                        <Field id="card-cvc" label=Text::Cvc value=ui.cvc index=Some(2) autocomplete="cc-csc" inputmode="numeric" format=|s| digits(s).chars().take(4).collect()/>
                    </div>
                    <Field id="card-name" label=Text::Name value=ui.name index=None autocomplete="cc-name" inputmode="text" format=|s| s.chars().take(100).collect()/>
                    <Field id="card-postal" label=Text::Postal value=ui.postal index=None autocomplete="postal-code" inputmode="text" format=|s| s.chars().take(16).collect()/>
                    {move || ui.opts().customer_session.is_some().then(|| view! {
                        <label class="choice save">
                            <input type="checkbox" id="save-card" prop:checked=move || ui.save_card.get()
                                on:change=move |ev| ui.save_card.set(event_target_checked(&ev))/>
                            <span>{move || ui.tr(Text::SaveCard)}</span>
                        </label>
                    })}
                </div>
            </Show>
            <div class="payment-error" role="alert" aria-live="assertive">{move || ui.error.get()}</div>
            <button type="submit" id="pay" class="pay" prop:disabled=move || ui.in_flight.get() aria-busy=move || ui.in_flight.get().to_string()>
                {pay_label}
            </button>
        </form>
    }
}

#[component]
fn DoneScreen() -> impl IntoView {
    let ui = use_ui();
    let kiosk = ui.opts().mode == Mode::Kiosk;
    let card = move || ui.intent.with(|i| i.as_ref().map(|i| format!("{} {} {}", i.card_brand.map(brand_label).unwrap_or(""), ui.tr(Text::Ending), i.card_last4.clone().unwrap_or_default())));
    let auth = move || ui.intent.with(|i| i.as_ref().and_then(|i| i.auth_code.clone()));
    let captured = move || ui.intent.with(|i| i.as_ref().map(|i| i.captured_amount_cents.max(i.amount_cents + i.tip_cents))).unwrap_or(0);
    view! {
        <section class="result success" aria-labelledby="result-title">
            <div class="check" aria-hidden="true">"✓"</div>
            <h1 id="result-title" tabindex="-1">{move || if kiosk { ui.tr(Text::Receipt) } else { ui.tr(Text::Success) }}</h1>
            <p role="status">{move || ui.tr(Text::SuccessText)}</p>
            {kiosk.then(|| view! { <Summary/> })}
            <dl class="receipt">
                {(!kiosk).then(|| view! { <dt>{move || ui.tr(Text::Total)}</dt> })}
                <dd data-testid="paid-amount" class:visually-hidden=kiosk>{move || ui.money(captured())}</dd>
                <dt>{move || ui.tr(Text::Card)}</dt><dd>{card}</dd>
                {move || auth().map(|code| view! { <dt>{move || ui.tr(Text::AuthCode)}</dt><dd>{code}</dd> })}
            </dl>
            {kiosk.then(|| view! { <button type="button" class="pay" on:click=move |_| restart(ui)>{move || ui.tr(Text::Done)}</button> })}
        </section>
    }
}

#[component]
fn ChallengeModal() -> impl IntoView {
    let ui = use_ui();
    let keydown = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            finish_challenge(false);
        } else if ev.key() == "Tab" {
            ev.prevent_default();
            let on_cancel = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element()).is_some_and(|e| e.id() == "challenge-cancel");
            focus(if on_cancel { "challenge-frame" } else { "challenge-cancel" });
        }
    };
    view! {
        {move || ui.challenge.get().map(|challenge| {
            let size = match challenge.window_size.as_str() { "01" => "small", "02" => "medium", "04" => "wide", "05" => "full", _ => "large" };
            request_animation(|| focus("challenge-frame"));
            view! {
                <div class="overlay">
                    <div class="dialog" data-size=size role="dialog" aria-modal="true" aria-label=move || ui.tr(Text::BankCheck) on:keydown=keydown>
                        <div class="dialog-bar">
                            <button type="button" id="challenge-cancel" class="secondary" on:click=move |_| finish_challenge(false)>{move || ui.tr(Text::Cancel)}</button>
                        </div>
                        <iframe id="challenge-frame" src=challenge.url.clone() title=move || ui.tr(Text::BankCheck)></iframe>
                    </div>
                </div>
            }
        })}
    }
}

fn request_animation(f: impl FnOnce() + 'static) {
    let closure = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(closure.unchecked_ref());
    }
}

/// The shop's page may change the locale, the theme or the CSS variables, and tells the checkout
/// when the amount changed; only its origin is heard.
fn listen_to_parent(ui: Ui) {
    let Some(parent_origin) = ui.opts().parent_origin.clone() else { return };
    let handle = window_event_listener(ev::message, move |event: web_sys::MessageEvent| {
        // A window from another browsing context is no `instanceof Window` here: compare identity.
        let from_parent = web_sys::window().and_then(|w| w.parent().ok().flatten()).is_some_and(|parent| {
            event.source().is_some_and(|source| js_sys::Object::is(&source, &parent))
        });
        if event.origin() != parent_origin || !from_parent {
            return;
        }
        let Some(ParentMessage::Update(CheckoutUpdate { locale, appearance })) = platform::message_text(&event.data()).as_deref().and_then(ParentMessage::read) else { return };
        if let Some(locale) = locale.filter(|l| i18n::supported(l)) {
            ui.locale.set(locale);
        }
        if let (Some(appearance), Some(root)) = (appearance, web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element())) {
            if let Some(theme) = appearance.theme {
                let _ = root.set_attribute("data-theme", if theme == Theme::Dark { "dark" } else { "light" });
            }
            if let (Some(vars), Some(root)) = (appearance.variables, root.dyn_ref::<web_sys::HtmlElement>()) {
                for (name, value) in vars.iter().filter(|(name, value)| options::safe_variable(name, value)) {
                    let _ = root.style().set_property(name, value);
                }
            }
        }
        refresh(ui);
    });
    on_cleanup(move || handle.remove());
}

/// The bank's page (served by this same server) says when the challenge is over.
fn listen_to_bank(ui: Ui, origin: String) {
    let handle = window_event_listener(ev::message, move |event: web_sys::MessageEvent| {
        if event.origin() != origin || ui.challenge.get_untracked().is_none() {
            return;
        }
        match platform::message_text(&event.data()).as_deref().and_then(ChallengeMessage::read) {
            Some(ChallengeMessage::ThreeDsComplete) => finish_challenge(true),
            Some(ChallengeMessage::ThreeDsEscape) => finish_challenge(false),
            None => {}
        }
    });
    on_cleanup(move || handle.remove());
}

/// Tells the shop's page how tall the checkout is, so its iframe fits without scrollbars.
fn report_size(ui: Ui) {
    let Some(parent_origin) = ui.opts().parent_origin.clone() else { return };
    let last = Rc::new(std::cell::Cell::new(0i32));
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        let height = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map(|e| e.get_bounding_client_rect().height().ceil() as i32)
            .unwrap_or(0);
        if height != last.get() {
            last.set(height);
            tell_parent(Some(&parent_origin), CheckoutMessage::Resize { height: f64::from(height) });
        }
    });
    if let (Ok(observer), Some(root)) = (
        web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()),
        web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()),
    ) {
        observer.observe(&root);
        // The observer and its callback live as long as the app, and go with it.
        let kept = SendWrapper::new((observer, callback));
        on_cleanup(move || kept.take().0.disconnect());
    }
}

/// Kiosk: after `idleSeconds` without a touch or key, go back to the start — never while a
/// payment is in flight.
fn watch_idle(ui: Ui) {
    let Some(window) = web_sys::window() else { return };
    let touched = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || ui.last_activity.set(now_ms()));
    const ACTIVITY: [&str; 3] = ["pointerdown", "keydown", "input"];
    for event in ACTIVITY {
        let _ = window.add_event_listener_with_callback_and_bool(event, touched.as_ref().unchecked_ref(), true);
    }
    let kept = SendWrapper::new((window, touched));
    on_cleanup(move || {
        let (window, touched) = kept.take();
        for event in ACTIVITY {
            let _ = window.remove_event_listener_with_callback_and_bool(event, touched.as_ref().unchecked_ref(), true);
        }
    });
    let idle_ms = f64::from(ui.opts().idle_seconds) * 1000.0;
    let handle = set_interval_with_handle(
        move || {
            let busy = ui.in_flight.get_untracked() || ui.challenge.get_untracked().is_some();
            if busy {
                ui.last_activity.set(now_ms());
                return;
            }
            if now_ms() - ui.last_activity.get_untracked() < idle_ms {
                return;
            }
            ui.last_activity.set(now_ms());
            match ui.screen.get_untracked() {
                Screen::Done => restart(ui),
                Screen::Tip | Screen::Loading => {}
                _ => {
                    ui.reset_form();
                    ui.screen.set(Screen::Tip);
                }
            }
        },
        std::time::Duration::from_millis(500),
    );
    if let Ok(handle) = handle {
        on_cleanup(move || handle.clear());
    }
}

/// Kiosk: the next customer.
fn restart(ui: Ui) {
    match (ui.opts().restart_url.clone(), web_sys::window()) {
        (Some(url), Some(window)) => {
            let _ = window.location().replace(&url);
        }
        _ => {
            ui.reset_form();
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod component_tests;
