//! The parts every screen is made of, driven by data: a cell, a table, a list of details, a
//! search form, and the panel through which every change is made and confirmed. A screen says
//! what to show; these say how. (Each distinct Leptos view is code in the download; a handful of
//! parts keeps the console small however many screens it has.)

use std::rc::Rc;

use kassa::client::JsJson;
use kassa::Currency;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;

use crate::api::{self, Read};
use crate::i18n::{pick, Text, Words};
use crate::route::{self, Link, Page, Route};
use crate::{tr, use_ui};

/// One value as a screen shows it.
#[derive(Clone)]
pub enum Cell {
    Plain(String),
    /// An amount in minor units, in the user's locale with the currency's decimals.
    Money(i64, Currency),
    /// An RFC 3339 time, in the user's locale.
    Time(String),
    /// A word in the user's language: a status or an outcome, marked for the stylesheet
    /// (`class`, and the wire value as `data-value`).
    Badge(&'static str, String, Words),
    Words(Words),
    /// A link the console follows itself.
    Link(Box<Cell>, Route),
}

impl Cell {
    pub fn opt(text: Option<String>) -> Cell {
        Cell::Plain(text.unwrap_or_default())
    }

    /// A badge for a wire value and its words (`i18n::status`, `i18n::outcome`, …).
    pub fn badge(class: &'static str, value: String, words: fn(&str) -> Words) -> Cell {
        let said = words(&value);
        Cell::Badge(class, value, said)
    }

    fn is_empty(&self) -> bool {
        matches!(self, Cell::Plain(text) if text.is_empty())
    }
}

#[component]
pub fn CellView(cell: Cell) -> impl IntoView {
    let ui = use_ui();
    match cell {
        Cell::Plain(text) => text.into_any(),
        Cell::Money(minor, currency) => (move || ui.money(minor, currency)).into_any(),
        Cell::Time(at) => (move || ui.time(&at)).into_any(),
        Cell::Badge(class, value, words) => {
            view! { <span class=class data-value=value>{move || pick(words, ui.locale.get())}</span> }.into_any()
        }
        Cell::Words(words) => (move || pick(words, ui.locale.get())).into_any(),
        Cell::Link(inner, to) => view! { <Link to><CellView cell=*inner/></Link> }.into_any(),
    }
}

/// A table on a desk; on a phone each row becomes a card of labelled values (the stylesheet
/// uses each cell's `data-label`).
#[component]
pub fn Table(columns: Vec<Text>, rows: Vec<Vec<Cell>>, #[prop(optional)] label: Option<Text>) -> impl IntoView {
    let head = columns.iter().map(|c| view! { <th scope="col">{tr(*c)}</th> }).collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let cells = row
                .into_iter()
                .zip(columns.clone())
                .map(|(cell, column)| view! { <td data-label=tr(column)><CellView cell/></td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="rows" aria-label=label.map(tr)>
            <thead><tr>{head}</tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// Labels and values; an empty value leaves its row out.
#[component]
pub fn Details(items: Vec<(Text, Cell)>) -> impl IntoView {
    let rows = items
        .into_iter()
        .filter(|(_, cell)| !cell.is_empty())
        .map(|(label, cell)| view! { <dt>{tr(label)}</dt><dd><CellView cell/></dd> })
        .collect_view();
    view! { <dl class="details">{rows}</dl> }
}

/// How a field is typed in.
#[derive(Clone)]
pub enum Kind {
    Text(&'static str),
    Amount,
    Date,
    Password(&'static str),
    Email,
    /// One of these values, each with what it shows (plain text or words).
    Choice(Vec<(String, Cell)>),
    /// Any of these values, as checkboxes; the field's value lists the checked ones, comma-separated.
    Checks(Vec<(String, Cell)>),
}

/// A field of a form.
#[derive(Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: Text,
    pub kind: Kind,
    pub value: String,
}

impl Field {
    pub fn new(name: &'static str, label: Text, kind: Kind) -> Field {
        Field { name, label, kind, value: String::new() }
    }

    pub fn with(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }
}

/// A labelled input or select, bound to `value`.
#[component]
pub fn Input(field: Field, value: RwSignal<String>) -> AnyView {
    let id = field.name;
    let input = move |kind: &'static str, inputmode: &'static str, autocomplete: &'static str| {
        view! {
            <input id=id name=id type=kind inputmode=inputmode autocomplete=autocomplete
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        }
        .into_any()
    };
    let control = match field.kind {
        Kind::Text(autocomplete) => input("text", "text", autocomplete),
        Kind::Amount => input("text", "decimal", "off"),
        Kind::Date => input("date", "text", "off"),
        Kind::Email => input("email", "email", "username"),
        Kind::Password(autocomplete) => input("password", "text", autocomplete),
        Kind::Choice(options) => {
            let options = options
                .into_iter()
                .map(|(option, shown)| {
                    let selected = {
                        let option = option.clone();
                        move || value.with(|v| *v == option)
                    };
                    view! { <option value=option selected=selected><CellView cell=shown/></option> }
                })
                .collect_view();
            view! { <select id=id name=id on:change=move |ev| value.set(event_target_value(&ev))>{options}</select> }.into_any()
        }
        Kind::Checks(options) => {
            let boxes = options
                .into_iter()
                .map(|(option, shown)| {
                    let checked = { let option = option.clone(); move || value.with(|v| v.split(',').any(|c| c == option)) };
                    let toggle = move |ev: leptos::ev::Event| {
                        let on = event_target_checked(&ev);
                        value.update(|v| {
                            let mut all: Vec<String> = v.split(',').filter(|c| !c.is_empty() && *c != option).map(str::to_owned).collect();
                            if on {
                                all.push(option.clone());
                            }
                            *v = all.join(",");
                        });
                    };
                    view! { <label class="check"><input type="checkbox" prop:checked=checked on:change=toggle/><CellView cell=shown/></label> }
                })
                .collect_view();
            return view! { <fieldset class="field checks"><legend>{tr(field.label)}</legend>{boxes}</fieldset> }.into_any();
        }
    };
    view! {
        <div class="field">
            <label for=id>{tr(field.label)}</label>
            {control}
        </div>
    }
    .into_any()
}

/// A search form whose fields are the route's query: searching puts them in the address.
#[component]
pub fn Search(page: Page, fields: Vec<Field>) -> impl IntoView {
    let route = expect_context::<RwSignal<Route>>();
    let now = route.get_untracked();
    let values: Vec<RwSignal<String>> = fields.iter().map(|f| RwSignal::new(now.get(f.name).unwrap_or_default().to_owned())).collect();
    let names: Vec<&'static str> = fields.iter().map(|f| f.name).collect();
    let search = {
        let (names, values, page) = (names.clone(), values.clone(), page.clone());
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let query = names
                .iter()
                .zip(&values)
                .map(|(n, v)| ((*n).to_owned(), v.get_untracked().trim().to_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            route::replace(Route { page: page.clone(), query });
        }
    };
    let clear = {
        let values = values.clone();
        move |_| {
            values.iter().for_each(|v| v.set(String::new()));
            route::replace(Route::to(page.clone()));
        }
    };
    let inputs = fields.into_iter().zip(values).map(|(field, value)| view! { <Input field value/> }).collect_view();
    view! {
        <form class="filters" role="search" aria-label=tr(Text::Filters) on:submit=search>
            {inputs}
            <div class="buttons">
                <button type="submit" class="primary">{tr(Text::Search)}</button>
                <button type="button" class="quiet" on:click=clear>{tr(Text::Clear)}</button>
            </div>
        </form>
    }
}

/// A request a confirmed change makes.
pub struct Request {
    /// What the dialog asks, amount included.
    pub question: String,
    pub method: &'static str,
    pub path: String,
    pub body: JsJson,
    /// A member of the answer to show once, after the change (a new key or signing secret).
    pub reveal: Option<&'static str>,
}

impl Request {
    pub fn new(question: String, method: &'static str, path: String, body: JsJson) -> Request {
        Request { question, method, path, body, reveal: None }
    }
}

/// How a change turns the values typed into its fields into a request, or why it cannot.
pub type Plan = Rc<dyn Fn(&[String]) -> Result<Request, String>>;

/// A change offered on a screen: its button, the fields it asks for (none: straight to the
/// confirmation), and how it turns their values into a request, or why it cannot.
#[derive(Clone)]
pub struct Action {
    pub id: String,
    pub label: Text,
    pub fields: Vec<Field>,
    pub plan: Plan,
}

/// A change waiting for the user's yes: the question, the button, and the request under one
/// idempotency key (confirming again after an error cannot make the change twice).
#[derive(Clone)]
struct Pending {
    question: String,
    confirm: Text,
    method: &'static str,
    path: String,
    body: JsJson,
    key: String,
    reveal: Option<&'static str>,
}

/// Buttons for `actions`; choosing one opens its form, and its request is made only after the
/// confirmation dialog. `done` runs after a change succeeded.
#[component]
pub fn Actions(actions: Vec<Action>, done: Callback<()>) -> impl IntoView {
    let open = RwSignal::new(None::<usize>);
    let pending = RwSignal::new_local(None::<Pending>);
    let actions = StoredValue::new_local(actions);
    // A change that asks for nothing goes straight to its confirmation.
    let choose = move |index: usize| {
        let Some(action) = actions.with_value(|all| all.get(index).cloned()) else { return };
        if !action.fields.is_empty() {
            open.set(Some(index));
            return;
        }
        open.set(None);
        if let Ok(request) = (action.plan)(&[]) {
            pending.set(Some(Pending {
                question: request.question,
                confirm: action.label,
                method: request.method,
                path: request.path,
                body: request.body,
                key: kassa::client::random_key(),
                reveal: request.reveal,
            }));
        }
    };
    let buttons = actions
        .with_value(|all| all.iter().map(|a| (a.id.clone(), a.label, !a.fields.is_empty())).collect::<Vec<_>>())
        .into_iter()
        .enumerate()
        .map(|(index, (id, label, asks))| {
            let expanded = move || asks.then(|| (open.get() == Some(index)).to_string());
            view! {
                <button type="button" class="secondary" id=id aria-expanded=expanded on:click=move |_| choose(index)>{tr(label)}</button>
            }
        })
        .collect_view();
    let form = move || {
        let index = open.get()?;
        let action = actions.with_value(|all| all.get(index).cloned())?;
        let values: Vec<RwSignal<String>> = action.fields.iter().map(|f| RwSignal::new(f.value.clone())).collect();
        let error = RwSignal::new(None::<String>);
        let (plan, label) = (action.plan.clone(), action.label);
        let submit = {
            let values = values.clone();
            move |ev: SubmitEvent| {
                ev.prevent_default();
                let typed: Vec<String> = values.iter().map(|v| v.get_untracked()).collect();
                match plan(&typed) {
                    Ok(request) => {
                        error.set(None);
                        open.set(None);
                        pending.set(Some(Pending {
                            question: request.question,
                            confirm: label,
                            method: request.method,
                            path: request.path,
                            body: request.body,
                            key: kassa::client::random_key(),
                            reveal: request.reveal,
                        }));
                    }
                    Err(message) => error.set(Some(message)),
                }
            }
        };
        let inputs = action.fields.into_iter().zip(values).map(|(field, value)| view! { <Input field value/> }).collect_view();
        Some(view! {
            <form class="change" on:submit=submit>
                {inputs}
                <p class="error" role="alert">{move || error.get()}</p>
                <div class="buttons">
                    <button type="submit" class="primary">{tr(label)}"…"</button>
                    <button type="button" class="quiet" on:click=move |_| open.set(None)>{tr(Text::Cancel)}</button>
                </div>
            </form>
        })
    };
    view! {
        <div class="buttons">{buttons}</div>
        {form}
        <Confirm pending done/>
    }
}

/// The modal dialog that states a change and asks to confirm it. A native modal `<dialog>`: it
/// keeps the focus inside while open, closes on Escape, and gives the focus back when closed.
#[component]
fn Confirm(pending: RwSignal<Option<Pending>, LocalStorage>, done: Callback<()>) -> impl IntoView {
    let ui = use_ui();
    let dialog = NodeRef::<html::Dialog>::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // A secret the change made, shown until the dialog is closed.
    let revealed = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let open = pending.with(Option::is_some) || revealed.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                error.set(None);
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    let yes = move |_| {
        let Some(change) = pending.get_untracked() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::send(change.method, &change.path, &change.body, &change.key).await;
            busy.set(false);
            match result {
                Ok(answer) => {
                    let secret = change.reveal.and_then(|member| answer.text(member));
                    revealed.set(secret);
                    pending.set(None);
                    done.run(());
                }
                Err(failure) => error.set(Some(ui.failed(&failure))),
            }
        });
    };
    view! {
        <dialog node_ref=dialog class="confirm" aria-labelledby="confirm-question" on:close=move |_| { pending.set(None); revealed.set(None); }>
            <p id="confirm-question" class="question">{move || pending.with(|p| p.as_ref().map(|p| p.question.clone()))}</p>
            {move || revealed.get().map(|secret| view! {
                <p class="question">{tr(Text::ShownOnce)}</p>
                <p><code class="secret" data-testid="revealed">{secret}</code></p>
                <button type="button" class="primary" on:click=move |_| revealed.set(None)>{tr(Text::Close)}</button>
            })}
            <p class="error" role="alert">{move || error.get()}</p>
            <div class="buttons" hidden=move || revealed.with(Option::is_some)>
                <button type="button" class="quiet" on:click=move |_| pending.set(None)>{tr(Text::Cancel)}</button>
                <button type="button" class="primary" id="confirm-yes" prop:disabled=move || busy.get() on:click=yes>
                    {move || pending.with(|p| p.as_ref().map(|p| ui.t(p.confirm)))}
                </button>
            </div>
        </dialog>
    }
}

/// A screen's data, loaded when shown: `view` draws it, a failure is said, and `Loading…` shows
/// meanwhile. `reload` loads it again (after a change). (A plain function, so that this part
/// exists once however many screens use it.)
#[component]
pub fn Loaded(path: Signal<String>, reload: RwSignal<u32>, view: fn(JsJson) -> AnyView) -> impl IntoView {
    let ui = use_ui();
    let answer = RwSignal::new_local(None::<Result<JsJson, api::Failure>>);
    // Only the answer to the latest request is shown, whatever order the answers come in.
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        reload.track();
        let path = path.get();
        let asked = latest.get_value() + 1;
        latest.set_value(asked);
        leptos::task::spawn_local(async move {
            let got = api::get(&path).await;
            // The screen may be gone by now (the user moved on): then nothing is shown.
            if latest.try_get_value() == Some(asked) {
                answer.try_set(Some(got));
            }
        });
    });
    move || match answer.get() {
        None => view! { <p role="status">{tr(Text::Loading)}</p> }.into_any(),
        Some(Ok(data)) => view(data),
        Some(Err(failure)) => view! { <p class="error" role="alert">{ui.failed(&failure)}</p> }.into_any(),
    }
}

/// Loads a screen's data again after a change, and says the change was made.
#[derive(Clone, Copy)]
pub struct Reload(pub RwSignal<u32>, pub RwSignal<bool>);

impl Reload {
    /// A reload for the screen being made, for its changes to find.
    pub fn provide() -> Reload {
        let reload = Reload(RwSignal::new(0), RwSignal::new(false));
        provide_context(reload);
        reload
    }

    /// What a change runs when it succeeded.
    pub fn callback() -> Callback<()> {
        let Reload(reload, notice) = expect_context::<Reload>();
        Callback::new(move |_| {
            notice.set(true);
            reload.update(|n| *n += 1);
        })
    }

    /// "Done." once a change was made.
    pub fn notice(self) -> impl IntoView {
        let ui = use_ui();
        view! { <p class="notice" role="status">{move || self.1.get().then(|| ui.t(Text::Done))}</p> }
    }
}

/// The screen of one object (a payment, an order): the way back, the object, and what its
/// changes say.
#[component]
pub fn ObjectScreen(back: Page, back_text: Text, path: String, view: fn(JsJson) -> AnyView) -> impl IntoView {
    let reload = Reload::provide();
    view! {
        <p class="back"><Link to=Route::to(back)>{tr(back_text)}</Link></p>
        <Loaded path=Signal::stored(path) reload=reload.0 view/>
        {reload.notice()}
    }
}
