//! Kassa's merchant console: the back office where a shop's staff find, fix and refund payments.
//! A Leptos app served by kassa-server at `/console/`, signed in as a person (a session cookie),
//! talking to the same HTTP API as every other client.

pub mod api;
pub mod i18n;
mod pages;
pub mod platform;
pub mod route;
mod widgets;

use api::Read;
use kassa::api::Permission;
use kassa::client::JsJson;
use kassa::Currency;
use leptos::prelude::*;

use i18n::{Locale, Text};
use route::{Link, Page, Route};

/// The signed-in user, as the session answer says.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub email: String,
    pub merchant_name: String,
    pub permissions: Vec<String>,
    pub administers: bool,
    pub csrf_token: String,
}

impl Session {
    pub fn read(answer: &JsJson) -> Session {
        let user = answer.at("user");
        Session {
            email: user.and_then(|u| u.text("email")).unwrap_or_default(),
            merchant_name: answer.text("merchantName").unwrap_or_default(),
            permissions: answer.list("permissions").iter().filter_map(|p| p.string()).collect(),
            administers: answer.flag("administers"),
            csrf_token: answer.text("csrfToken").unwrap_or_default(),
        }
    }
}

/// What every screen shares, provided as context by [`App`].
#[derive(Clone, Copy)]
pub struct Ui {
    pub locale: RwSignal<Locale>,
    pub dark: RwSignal<bool>,
    /// The signed-in session; `None` when signed out.
    pub session: RwSignal<Option<Session>>,
    /// Why the user sees the sign-in form again, if they were signed in.
    pub notice: RwSignal<Option<Text>>,
}

impl Ui {
    pub fn t(&self, text: Text) -> &'static str {
        text.get(self.locale.get())
    }

    /// Whether the signed-in user's role holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.session.with(|s| s.as_ref().is_some_and(|s| s.permissions.iter().any(|p| p == permission.as_str())))
    }

    pub fn administers(&self) -> bool {
        self.session.with(|s| s.as_ref().is_some_and(|s| s.administers))
    }

    pub fn money(&self, minor: impl Into<i64>, currency: Currency) -> String {
        platform::money(minor.into(), currency, self.locale.get())
    }

    /// An amount typed in a form: in `currency`, more than nothing (unless `zero` is allowed), at
    /// most `most`; or the message saying so.
    pub fn typed_amount(&self, typed: &str, currency: Currency, most: i64, zero: bool) -> Result<i64, String> {
        platform::parse_amount(typed, currency)
            .filter(|m| *m <= most && (zero || *m > 0))
            .ok_or_else(|| self.t(Text::InvalidAmount).replace("{amount}", &self.money(most, currency)))
    }

    pub fn time(&self, rfc3339: &str) -> String {
        platform::time(rfc3339, self.locale.get())
    }

    /// A failed call: a lost session sends the user back to sign in; anything else is a message.
    pub fn failed(&self, failure: &api::Failure) -> String {
        if failure.signed_out() {
            self.session.set(None);
            self.notice.set(Some(Text::SessionEnded));
        }
        failure.message.clone()
    }
}

pub fn use_ui() -> Ui {
    expect_context::<Ui>()
}

/// A text in the user's language, following a change of language. Every text shown is this one
/// closure type, so the view code for it exists once.
pub fn tr(text: Text) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let ui = use_ui();
    move || ui.t(text)
}

/// Where the app starts: a setup link, a live session, or the sign-in form.
#[derive(Clone, PartialEq)]
enum Start {
    Checking,
    SetUp(String),
    Ready,
}

#[component]
pub fn App() -> impl IntoView {
    let locale = platform::remembered("kassa.console.locale").and_then(|l| Locale::parse(&l)).unwrap_or_else(platform::browser_locale);
    let dark = platform::remembered("kassa.console.theme").map_or_else(platform::prefers_dark, |t| t == "dark");
    let ui = Ui { locale: RwSignal::new(locale), dark: RwSignal::new(dark), session: RwSignal::new(None), notice: RwSignal::new(None) };
    provide_context(ui);
    route::provide_router();
    Effect::new(move |_| platform::set_root_attribute("lang", ui.locale.get().code()));
    Effect::new(move |_| platform::set_root_attribute("data-theme", if ui.dark.get() { "dark" } else { "light" }));
    Effect::new(move |_| {
        if let Some(session) = ui.session.get() {
            api::set_csrf(&session.csrf_token);
        }
    });

    let start = RwSignal::new(match platform::take_setup_token() {
        Some(token) => Start::SetUp(token),
        None => Start::Checking,
    });
    // A setup link opened in a tab that shows the console already changes only the fragment.
    let on_hash = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        if let Some(token) = platform::take_setup_token() {
            ui.session.set(None);
            start.set(Start::SetUp(token));
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback("hashchange", wasm_bindgen::JsCast::unchecked_ref(on_hash.as_ref()));
    }
    on_hash.forget();
    // Once signed in, a setup link is spent: signing out or a lost session leads to sign-in.
    Effect::new(move |_| {
        if ui.session.with(Option::is_some) && start.get_untracked() != Start::Ready {
            start.set(Start::Ready);
        }
    });
    if start.get_untracked() == Start::Checking {
        leptos::task::spawn_local(async move {
            if let Ok(answer) = api::get("/console/session").await {
                ui.session.set(Some(Session::read(&api::data(answer))));
            }
            start.set(Start::Ready);
        });
    }

    move || match (start.get(), ui.session.get().is_some()) {
        (Start::Checking, _) => view! { <main class="center"><p role="status">{ui.t(Text::Loading)}</p></main> }.into_any(),
        (Start::SetUp(token), false) => view! { <pages::sign_in::SetUp token/> }.into_any(),
        (_, false) => view! { <pages::sign_in::SignIn/> }.into_any(),
        (_, true) => view! { <Shell/> }.into_any(),
    }
}

/// The signed-in console: navigation, the user's controls, and the current page.
#[component]
fn Shell() -> impl IntoView {
    let ui = use_ui();
    let route = expect_context::<RwSignal<Route>>();
    let email = move || ui.session.with(|s| s.as_ref().map(|s| s.email.clone()).unwrap_or_default());
    let merchant = move || ui.session.with(|s| s.as_ref().map(|s| s.merchant_name.clone()).unwrap_or_default());
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::session_call("DELETE", "/console/session", None).await;
            ui.session.set(None);
        });
    };
    let nav = move |page: Page, text: Text| {
        let target = page.clone();
        let current = move || {
            let here = route.with(|r| match &r.page {
                Page::Payment(_) => Page::Payments,
                Page::Order(_) => Page::Orders,
                other => other.clone(),
            });
            (here == target).then_some("page")
        };
        view! { <li><Link to=Route::to(page.clone()) attr:aria-current=current>{tr(text)}</Link></li> }
    };
    view! {
        <a class="skip" href="#content">{tr(Text::SkipToContent)}</a>
        <header class="bar">
            <span class="brand">{tr(Text::Console)}<span class="merchant">{merchant}</span></span>
            <nav aria-label=tr(Text::MainNavigation)>
                <ul>
                    {nav(Page::Payments, Text::Payments)}
                    {nav(Page::Failed, Text::FailedPayments)}
                    {nav(Page::Orders, Text::Orders)}
                    {move || ui.administers().then(|| nav(Page::Developers, Text::Developers))}
                </ul>
            </nav>
            <div class="user">
                <button type="button" class="quiet" on:click=move |_| {
                    let dark = !ui.dark.get_untracked();
                    ui.dark.set(dark);
                    platform::remember("kassa.console.theme", if dark { "dark" } else { "light" });
                }>{move || if ui.dark.get() { ui.t(Text::LightTheme) } else { ui.t(Text::DarkTheme) }}</button>
                <button type="button" class="quiet" lang=move || if ui.locale.get() == Locale::En { "de" } else { "en" } on:click=move |_| {
                    let next = if ui.locale.get_untracked() == Locale::En { Locale::De } else { Locale::En };
                    ui.locale.set(next);
                    platform::remember("kassa.console.locale", next.code());
                }>{tr(Text::Language)}</button>
                <span class="email">{email}</span>
                <button type="button" class="quiet" on:click=sign_out>{tr(Text::SignOut)}</button>
            </div>
        </header>
        <main id="content" tabindex="-1">
            {move || match route.get().page {
                Page::Payments => view! { <pages::payments::Payments/> }.into_any(),
                Page::Payment(id) => view! { <pages::payment::Payment id/> }.into_any(),
                Page::Failed => view! { <pages::failed::Failed/> }.into_any(),
                Page::Orders => view! { <pages::orders::Orders/> }.into_any(),
                Page::Order(id) => view! { <pages::orders::Order id/> }.into_any(),
                Page::Developers if ui.administers() => view! { <pages::developers::Developers/> }.into_any(),
                _ => view! { <h1 tabindex="-1">{tr(Text::NotFound)}</h1> }.into_any(),
            }}
        </main>
    }
}
