//! The checkout's components, mounted on their own in Chromium and driven as a customer would:
//! typing, leaving a field, pressing a button, switching the language.
//! `cargo test --target wasm32-unknown-unknown --lib` in `checkout-app/`, with `CHROMEDRIVER` set.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Event, HtmlElement, HtmlInputElement};

use super::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh element on the test page to mount into.
fn container() -> HtmlElement {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let element: HtmlElement = document.create_element("div").expect("a div").unchecked_into();
    document.body().expect("a body").append_child(&element).expect("appended");
    element
}

/// Lets the reactive system run what the last change scheduled.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

fn find<T: JsCast>(parent: &HtmlElement, selector: &str) -> T {
    parent.query_selector(selector).ok().flatten().unwrap_or_else(|| panic!("no {selector}")).unchecked_into()
}

fn text(parent: &HtmlElement, selector: &str) -> String {
    find::<HtmlElement>(parent, selector).text_content().unwrap_or_default()
}

async fn type_into(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    input.dispatch_event(&Event::new("input").expect("an event")).expect("dispatched");
    settle().await;
}

/// A checkout's state as the app makes it, for a page with no options in its address.
fn test_ui() -> Ui {
    let challenge = RwSignal::new(None);
    let client = Client::new(BrowserHost { challenge }, "pk_test_components", "http://127.0.0.1");
    Ui::new(Options::from_fragment(""), client, challenge)
}

/// An intent as Kassa answers it, read as the checkout reads it.
fn intent(amount_cents: i64, currency: &str) -> Intent {
    let answer = serde_json::json!({
        "id": "pi_component", "status": "requires_payment_method", "amountCents": amount_cents, "tipCents": 0,
        "capturedAmountCents": 0, "refundedAmountCents": 0, "currency": currency, "captureMethod": "automatic",
        "paymentMethodType": null, "cardBrand": null, "cardLast4": null, "authCode": null, "avsResponse": null,
        "cvvResponse": null, "providerReference": null, "orderId": null, "customerId": null, "locationId": null,
        "terminalId": null, "lineItems": [{ "name": "Mug", "unitAmountCents": amount_cents, "quantity": 1 }],
        "metadata": {}, "nextAction": null, "lastError": null, "createdAt": "2026-11-29T00:00:00.000Z",
        "updatedAt": "2026-11-29T00:00:00.000Z"
    });
    Intent::read(JsJson(js_sys::JSON::parse(&answer.to_string()).expect("JSON"))).expect("an intent")
}

#[wasm_bindgen_test]
async fn the_card_number_field_groups_digits_and_names_its_error_only_once_left() {
    let parent = container();
    let ui = test_ui();
    let _mounted = leptos::mount::mount_to(parent.clone(), move || {
        provide_context(ui);
        view! { <Field id="card-number" label=Text::CardNumber value=ui.number index=Some(0) autocomplete="cc-number" inputmode="numeric" format=group_number/> }
    });
    let number: HtmlInputElement = find(&parent, "#card-number");
    type_into(&number, "4242424242424241").await;
    assert_eq!(number.value(), "4242 4242 4242 4241");
    assert_eq!(text(&parent, "#card-number-error"), "", "no error while typing");
    number.dispatch_event(&Event::new("blur").unwrap()).unwrap();
    settle().await;
    assert_eq!(text(&parent, "#card-number-error"), "Enter a valid card number.");
    assert_eq!(number.get_attribute("aria-invalid").as_deref(), Some("true"));
    ui.locale.set("de".into());
    settle().await;
    assert_eq!(text(&parent, "label"), "Kartennummer");
    assert_eq!(text(&parent, "#card-number-error"), "Bitte eine gültige Kartennummer eingeben.");
    type_into(&number, "4242424242424242").await;
    assert_eq!(text(&parent, "#card-number-error"), "");
    assert_eq!(number.get_attribute("aria-invalid").as_deref(), Some("false"));
}

#[wasm_bindgen_test]
async fn the_tip_screen_offers_shares_of_the_amount_and_checks_a_custom_tip() {
    let parent = container();
    let ui = test_ui();
    ui.intent.set(Some(intent(2000, "EUR")));
    ui.screen.set(Screen::Tip);
    let _mounted = leptos::mount::mount_to(parent.clone(), move || {
        provide_context(ui);
        view! { <TipScreen/> }
    });
    settle().await;
    let values: Vec<String> = (1..=3).map(|i| text(&parent, &format!(".tip-option:nth-child({i}) .tip-value"))).collect();
    assert_eq!(values, ["€3.00", "€3.60", "€4.00"], "15, 18 and 20 % of €20.00");
    find::<HtmlElement>(&parent, ".tip-option:nth-child(2)").click();
    settle().await;
    assert_eq!(ui.tip.get_untracked(), Some(360));
    assert_eq!(ui.screen.get_untracked(), Screen::Pay);

    let custom: HtmlInputElement = find(&parent, "#custom-tip");
    type_into(&custom, "two euros").await;
    find::<HtmlElement>(&parent, ".tip-custom button[type=submit]").click();
    settle().await;
    assert_eq!(text(&parent, "#custom-tip-error"), "Enter a valid amount.");
    assert_eq!(custom.get_attribute("aria-invalid").as_deref(), Some("true"));
    ui.locale.set("de".into());
    settle().await;
    assert_eq!(text(&parent, "#custom-tip-error"), "Bitte einen gültigen Betrag eingeben.");
    type_into(&custom, "2.50").await;
    find::<HtmlElement>(&parent, ".tip-custom button[type=submit]").click();
    settle().await;
    assert_eq!(ui.tip.get_untracked(), Some(250));
}

#[wasm_bindgen_test]
async fn the_summary_shows_the_total_in_the_currency_s_own_decimals_and_the_tip_apart() {
    let parent = container();
    let ui = test_ui();
    ui.intent.set(Some(intent(1234, "KWD")));
    let _mounted = leptos::mount::mount_to(parent.clone(), move || {
        provide_context(ui);
        view! { <Summary/> }
    });
    settle().await;
    assert_eq!(text(&parent, "[data-testid=total]"), "KWD\u{a0}1.234");
    assert!(parent.query_selector("[data-testid=tip-amount]").unwrap().is_none(), "no tip line without a tip");
    ui.tip.set(Some(100));
    settle().await;
    assert_eq!(text(&parent, "[data-testid=tip-amount]"), "KWD\u{a0}0.100");
    assert_eq!(text(&parent, "[data-testid=total]"), "KWD\u{a0}1.334");
}

#[wasm_bindgen_test]
fn a_kiosk_restarts_only_on_its_own_origin_or_back_where_it_came_from() {
    use crate::options::Options;
    let shop = "http://localhost:3000/";
    let restart = |url: &str, referrer: &str| {
        Options::from_fragment_and_referrer(&format!("mode=kiosk&restartUrl={}", js_sys::encode_uri_component(url)), referrer).restart_url
    };
    assert_eq!(restart("/kiosk.html", ""), Some("/kiosk.html".into()));
    assert_eq!(restart("http://localhost:3000/kiosk.html", shop), Some("http://localhost:3000/kiosk.html".into()));
    assert_eq!(restart("HTTP://LOCALHOST:3000/kiosk.html", shop), Some("HTTP://LOCALHOST:3000/kiosk.html".into()));
    // A link's own choice of site, with no shop behind it or another one.
    assert_eq!(restart("https://evil.example/next", ""), None);
    assert_eq!(restart("https://evil.example/next", shop), None);
    assert_eq!(restart("http://localhost:3001/kiosk.html", shop), None);
    // Addresses a browser reads as another host than they seem to name.
    assert_eq!(restart("http://localhost:3000@evil.example/", shop), None);
    assert_eq!(restart("http://localhost:3000\\@evil.example/", shop), None);
    assert_eq!(restart("/\\evil.example/next", shop), None);
    assert_eq!(restart("//evil.example/next", shop), None);
    assert_eq!(restart("javascript:alert(1)", shop), None);
}
