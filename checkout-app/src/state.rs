//! What the screens share: the checkout's state, provided as context, and its error texts.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Screen {
    Loading,
    Tip,
    Pay,
    Done,
    Failed(String),
}

/// Everything the screens share, provided as context by [`App`]: the options the shop's page
/// chose, the client, and the state of the form. Every field is a cheap handle.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    pub(crate) options: StoredValue<Rc<Options>, LocalStorage>,
    pub(crate) client: StoredValue<Rc<Client<BrowserHost>>, LocalStorage>,
    pub(crate) locale: RwSignal<String>,
    pub(crate) screen: RwSignal<Screen>,
    pub(crate) intent: RwSignal<Option<Intent>>,
    pub(crate) saved: RwSignal<Vec<SavedCard>>,
    pub(crate) chosen: RwSignal<Option<String>>,
    pub(crate) number: RwSignal<String>,
    pub(crate) expiry: RwSignal<String>,
    pub(crate) cvc: RwSignal<String>,
    pub(crate) name: RwSignal<String>,
    pub(crate) postal: RwSignal<String>,
    pub(crate) left: RwSignal<[bool; 3]>,
    pub(crate) save_card: RwSignal<bool>,
    pub(crate) tip: RwSignal<Option<i64>>,
    pub(crate) custom_tip: RwSignal<String>,
    /// The confirmation, as an action: `pending()` while the card is being charged.
    pub(crate) paying: Action<(Ui, ConfirmParams), Result<Intent, KassaError>>,
    /// Re-reading the intent after the shop changed it: only the latest answer is shown.
    pub(crate) refreshing: Action<Ui, Option<Intent>>,
    pub(crate) error: RwSignal<Option<String>>,
    pub(crate) challenge: RwSignal<Option<Challenge>>,
    pub(crate) last_activity: RwSignal<f64>,
}

impl Ui {
    /// A checkout for `options` with nothing loaded or typed yet. `challenge` is the one its
    /// client's host shows.
    pub(crate) fn new(options: Options, client: Client<BrowserHost>, challenge: RwSignal<Option<Challenge>>) -> Ui {
        // The card form shows at once, so the customer can type while the intent loads; a kiosk
        // starts with its tip screen, which needs the amount.
        let first = if options.mode == Mode::Kiosk { Screen::Loading } else { Screen::Pay };
        Ui {
            locale: RwSignal::new(options.locale.clone()),
            options: StoredValue::new_local(Rc::new(options)),
            client: StoredValue::new_local(Rc::new(client)),
            screen: RwSignal::new(first),
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
            paying: Action::new_local(|(ui, params): &(Ui, ConfirmParams)| {
                let (ui, params) = (*ui, params.clone());
                async move {
                    let client = ui.client();
                    let flow = client.api().confirm_payment(&ui.opts().client_secret, &params, client.idempotency_key());
                    client.run::<JsJson>(flow).await.and_then(Intent::read)
                }
            }),
            refreshing: Action::new_local(|ui: &Ui| {
                let ui = *ui;
                async move { retrieve(ui).await.ok() }
            }),
            error: RwSignal::new(None),
            challenge,
            last_activity: RwSignal::new(now_ms()),
        }
    }

    /// Whether a payment is being made.
    pub(crate) fn is_paying(&self) -> bool {
        self.paying.pending().get()
    }

    pub(crate) fn opts(&self) -> Rc<Options> {
        self.options.get_value()
    }

    pub(crate) fn client(&self) -> Rc<Client<BrowserHost>> {
        self.client.get_value()
    }

    pub(crate) fn tr(&self, text: Text) -> &'static str {
        t(&self.locale.get(), text)
    }

    pub(crate) fn amounts(&self) -> Option<(i64, i64, kassa::Currency)> {
        self.intent.with(|i| i.as_ref().map(|i| (i.amount_cents, self.tip.get().unwrap_or(0), i.currency)))
    }

    pub(crate) fn money(&self, minor: i64) -> String {
        let currency = self.intent.with(|i| i.as_ref().map(|i| i.currency)).unwrap_or(kassa::Currency::USD);
        money(minor, currency, &self.locale.get())
    }

    /// The errors of the card fields, shown once each field was left.
    pub(crate) fn field_errors(&self) -> [Option<Text>; 3] {
        let number = self.number.get();
        [number_error(&number), parse_expiry(&self.expiry.get(), today()).err(), cvc_error(&self.cvc.get(), &number)]
    }

    pub(crate) fn shown_error(&self, field: usize) -> Option<&'static str> {
        if self.left.get()[field] {
            self.field_errors()[field].map(|key| self.tr(key))
        } else {
            None
        }
    }

    pub(crate) fn reset_form(&self) {
        for field in [self.number, self.expiry, self.cvc, self.name, self.postal, self.custom_tip] {
            field.set(String::new());
        }
        self.left.set([false; 3]);
        self.error.set(None);
        self.tip.set(None);
        self.chosen.set(self.saved.with_untracked(|s| s.first().map(|m| m.id.clone())));
    }
}

/// The checkout's state, which [`App`] provides.
pub(crate) fn use_ui() -> Ui {
    expect_context::<Ui>()
}

pub(crate) fn error_message(ui: &Ui, error: &KassaError) -> String {
    let locale = ui.locale.get_untracked();
    match error.kind {
        ErrorType::CardError => format!("{} {}", i18n::decline(&locale, error.decline_code.as_deref()), t(&locale, Text::TryAnother)),
        ErrorType::ValidationError => error.message.clone(),
        _ => t(&locale, Text::ErrorGeneric).into(),
    }
}
