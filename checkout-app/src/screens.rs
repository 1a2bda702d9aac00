//! The screens and their parts: summary, tip, card fields, pay, done, and the 3-D Secure modal.

use super::*;

#[component]
pub(crate) fn Summary() -> impl IntoView {
    let ui = use_ui();
    view! {
        <section class="summary" aria-labelledby="summary-title">
            <h2 id="summary-title" class="visually-hidden">{move || ui.tr(Text::Summary)}</h2>
            <ul class="lines">
                {move || ui.intent.with(|i| i.as_ref().map(|i| i.line_items.clone()).unwrap_or_default()).into_iter().map(|line| {
                    let total = line.unit_amount_cents * line.quantity;
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
            {move || ui.intent.with(Option::is_none).then(|| view! { <p class="loading" role="status">{move || ui.tr(Text::Loading)}</p> })}
            <p class="row total"><span>{move || ui.tr(Text::Total)}</span>
                <span data-testid="total">{move || ui.amounts().map(|(a, t, _)| ui.money(a + t))}</span></p>
        </section>
    }
}

#[component]
pub(crate) fn TipScreen() -> impl IntoView {
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
pub(crate) fn Field(
    id: &'static str,
    label: Text,
    value: RwSignal<String>,
    index: Option<usize>,
    autocomplete: &'static str,
    inputmode: &'static str,
    format: fn(&str) -> String,
) -> impl IntoView {
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
pub(crate) fn PayScreen() -> impl IntoView {
    let ui = use_ui();
    let new_card = move || ui.chosen.get().is_none();
    let pay_label = move || {
        if ui.is_paying() {
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
                        let id = method.id.clone();
                        let checked = { let id = id.clone(); move || ui.chosen.get().as_deref() == Some(id.as_str()) };
                        view! {
                            <label class="choice">
                                <input type="radio" name="payment-method" prop:checked=checked
                                    on:change=move |_| ui.chosen.set(Some(id.clone()))/>
                                <span>{brand_label(method.brand)}" "{move || ui.tr(Text::Ending)}" "{method.last4.clone()}
                                    " · "{format!("{:02}/{}", method.exp_month, method.exp_year % 100)}</span>
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
            <button type="submit" id="pay" class="pay" prop:disabled=move || ui.is_paying() || ui.intent.with(Option::is_none) aria-busy=move || ui.is_paying().to_string()>
                {pay_label}
            </button>
        </form>
    }
}

#[component]
pub(crate) fn DoneScreen() -> impl IntoView {
    let ui = use_ui();
    let kiosk = ui.opts().mode == Mode::Kiosk;
    let card = move || {
        ui.intent.with(|i| {
            i.as_ref().map(|i| {
                format!(
                    "{} {} {}",
                    i.card_brand.map(brand_label).unwrap_or(""),
                    ui.tr(Text::Ending),
                    i.card_last4.clone().unwrap_or_default()
                )
            })
        })
    };
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
pub(crate) fn ChallengeModal() -> impl IntoView {
    let ui = use_ui();
    let keydown = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            finish_challenge(false);
        } else if ev.key() == "Tab" {
            ev.prevent_default();
            let on_cancel =
                web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element()).is_some_and(|e| e.id() == "challenge-cancel");
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

pub(crate) fn request_animation(f: impl FnOnce() + 'static) {
    let closure = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(closure.unchecked_ref());
    }
}
