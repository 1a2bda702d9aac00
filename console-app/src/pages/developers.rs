//! Developers (owners only): API keys (create restricted ones, roll, revoke), webhook endpoints
//! with their delivery attempts and "send again", and the event log.

use std::rc::Rc;

use kassa::api::Permission;
use kassa::client::JsJson;
use leptos::prelude::*;

use crate::api::{self, Read};
use crate::i18n::{self, Text};
use crate::widgets::{Action, Actions, Cell, Field, Kind, Loaded, Reload, Request, Table};
use crate::{tr, use_ui};

#[component]
pub fn Developers() -> impl IntoView {
    let reload = Reload::provide();
    view! {
        <h1 tabindex="-1">{tr(Text::Developers)}</h1>
        {reload.notice()}
        <section aria-labelledby="keys-title">
            <h2 id="keys-title">{tr(Text::ApiKeys)}</h2>
            <Actions actions=vec![create_key()] done=Reload::callback()/>
            <Loaded path=Signal::stored("/api-keys".to_owned()) reload=reload.0 view=keys/>
        </section>
        <section aria-labelledby="webhooks-title">
            <h2 id="webhooks-title">{tr(Text::Webhooks)}</h2>
            <Actions actions=vec![add_endpoint()] done=Reload::callback()/>
            <Loaded path=Signal::stored("/webhook-endpoints".to_owned()) reload=reload.0 view=endpoints/>
        </section>
        <section aria-labelledby="events-title">
            <h2 id="events-title">{tr(Text::EventLog)}</h2>
            <Loaded path=Signal::stored("/events?limit=25".to_owned()) reload=reload.0 view=events/>
        </section>
    }
}

fn create_key() -> Action {
    let ui = use_ui();
    let permissions = Permission::ALL.iter().map(|p| (p.as_str().to_owned(), Cell::Plain(p.as_str().to_owned()))).collect();
    Action {
        id: "action-create-key".into(),
        label: Text::CreateKey,
        fields: vec![
            Field::new("key-name", Text::Name, Kind::Text("off")),
            Field::new("key-permissions", Text::Permissions, Kind::Checks(permissions)),
        ],
        plan: Rc::new(move |typed| {
            let chosen: Vec<JsJson> = typed[1].split(',').filter(|p| !p.is_empty()).map(api::string).collect();
            if chosen.is_empty() {
                return Err(ui.t(Text::Permissions).to_owned() + ": 0");
            }
            let mut members = vec![("kind", api::string("restricted")), ("permissions", kassa::client::Json::array(chosen))];
            if !typed[0].trim().is_empty() {
                members.push(("name", api::string(typed[0].trim())));
            }
            Ok(Request {
                reveal: Some("key"),
                ..Request::new(ui.t(Text::ConfirmCreateKey).into(), "POST", "/api-keys".into(), api::object(members))
            })
        }),
    }
}

fn keys(answer: JsJson) -> AnyView {
    let ui = use_ui();
    let all = api::items(&answer);
    let rows: Vec<Vec<Cell>> = all
        .iter()
        .map(|key| {
            let kind = key.text("kind").unwrap_or_default();
            let ends = key.text("revokedAt").map(|_| Cell::Words(Text::Revoked.words())).or_else(|| key.text("expiresAt").map(Cell::Time));
            // Only a restricted key lists its permissions; the others have theirs by kind.
            let permissions = match kind.as_str() {
                "secret" => Cell::Words(Text::EveryPermission.words()),
                "publishable" => Cell::Words(Text::BrowserPermissions.words()),
                _ => Cell::Plain(key.list("permissions").iter().filter_map(|p| p.string()).collect::<Vec<_>>().join(", ")),
            };
            vec![
                Cell::opt(key.text("name")),
                Cell::Words(i18n::key_kind(&kind)),
                Cell::opt(key.text("hint")),
                permissions,
                Cell::Time(key.text("createdAt").unwrap_or_default()),
                ends.unwrap_or(Cell::Words(Text::Never.words())),
            ]
        })
        .collect();
    let actions = all
        .iter()
        .filter(|key| key.text("revokedAt").is_none() && key.text("expiresAt").is_none())
        .map(|key| {
            let (id, hint) = (key.text("id").unwrap_or_default(), key.text("hint").unwrap_or_default());
            let roll_path = format!("/api-keys/{id}/roll");
            let revoke_path = format!("/api-keys/{id}");
            let grace = [("0", Text::Immediately), ("3600", Text::OneHour), ("86400", Text::OneDay)]
                .iter()
                .map(|(s, t)| ((*s).to_owned(), Cell::Words(t.words())))
                .collect();
            let actions = vec![
                Action {
                    id: format!("roll-{id}"),
                    label: Text::Roll,
                    fields: vec![Field::new("key-grace", Text::KeepOldFor, Kind::Choice(grace)).with("3600")],
                    plan: Rc::new(move |typed| {
                        let seconds = typed[0].parse::<i64>().unwrap_or(3600);
                        let body = api::object(vec![("expiresInSeconds", api::integer(seconds))]);
                        Ok(Request { reveal: Some("key"), ..Request::new(ui.t(Text::ConfirmRoll).into(), "POST", roll_path.clone(), body) })
                    }),
                },
                Action {
                    id: format!("revoke-{id}"),
                    label: Text::Revoke,
                    fields: vec![],
                    plan: Rc::new(move |_| {
                        Ok(Request::new(ui.t(Text::ConfirmRevoke).into(), "DELETE", revoke_path.clone(), api::object(vec![])))
                    }),
                },
            ];
            view! { <div class="entry-actions"><h3>{hint}</h3><Actions actions done=Reload::callback()/></div> }
        })
        .collect_view();
    view! {
        <Table columns=vec![Text::Name, Text::KeyKind, Text::KeyHint, Text::Permissions, Text::Created, Text::Expires] rows label=Text::ApiKeys/>
        {actions}
    }
    .into_any()
}

fn add_endpoint() -> Action {
    let ui = use_ui();
    Action {
        id: "action-add-endpoint".into(),
        label: Text::AddEndpoint,
        fields: vec![
            Field::new("endpoint-url", Text::Url, Kind::Text("url")),
            Field::new("endpoint-events", Text::Events, Kind::Text("off")).with("*"),
        ],
        plan: Rc::new(move |typed| {
            let events: Vec<JsJson> = typed[1].split(',').map(str::trim).filter(|e| !e.is_empty()).map(api::string).collect();
            let body = api::object(vec![("url", api::string(typed[0].trim())), ("events", kassa::client::Json::array(events))]);
            Ok(Request {
                reveal: Some("secret"),
                ..Request::new(ui.t(Text::ConfirmAddEndpoint).into(), "POST", "/webhook-endpoints".into(), body)
            })
        }),
    }
}

/// The endpoint whose attempts a section shows.
#[derive(Clone)]
struct Endpoint(String);

fn endpoints(answer: JsJson) -> AnyView {
    let ui = use_ui();
    let all = api::items(&answer);
    if all.is_empty() {
        return view! { <p class="muted">{tr(Text::NoneYet)}</p> }.into_any();
    }
    all.iter()
        .map(|endpoint| {
            let id = endpoint.text("id").unwrap_or_default();
            let url = endpoint.text("url").unwrap_or_default();
            let events = endpoint.list("events").iter().filter_map(|e| e.string()).collect::<Vec<_>>().join(", ");
            let every = tr(Text::EveryEvent);
            let events = move || if events == "*" { every().to_owned() } else { events.clone() };
            let path = format!("/webhook-endpoints/{id}");
            let delete = Action {
                id: format!("delete-{id}"),
                label: Text::Delete,
                fields: vec![],
                plan: Rc::new(move |_| {
                    Ok(Request::new(ui.t(Text::ConfirmDeleteEndpoint).into(), "DELETE", path.clone(), api::object(vec![])))
                }),
            };
            view! {
                <div class="entry-actions endpoint">
                    <h3>{url}</h3>
                    <p class="muted">{events}</p>
                    <Actions actions=vec![delete] done=Reload::callback()/>
                    <Attempts endpoint=id/>
                </div>
            }
        })
        .collect_view()
        .into_any()
}

#[component]
fn Attempts(endpoint: String) -> impl IntoView {
    let reload = expect_context::<Reload>().0;
    provide_context(Endpoint(endpoint.clone()));
    view! {
        <h4>{tr(Text::Attempts)}</h4>
        <Loaded path=Signal::stored(format!("/webhook-endpoints/{endpoint}/deliveries")) reload view=attempts/>
    }
}

fn attempts(answer: JsJson) -> AnyView {
    let ui = use_ui();
    let Endpoint(endpoint) = expect_context::<Endpoint>();
    let all = api::items(&answer);
    if all.is_empty() {
        return view! { <p class="muted">{tr(Text::NoneYet)}</p> }.into_any();
    }
    let rows: Vec<Vec<Cell>> = all
        .iter()
        .map(|attempt| {
            let status = attempt.text("deliveryStatus").unwrap_or_default();
            let code = Some(attempt.int("statusCode")).filter(|c| *c != 0).map(|c| c.to_string());
            vec![
                Cell::opt(attempt.text("eventId")),
                Cell::Plain(code.or_else(|| attempt.text("error")).unwrap_or_default()),
                Cell::badge("entry", status, i18n::delivery),
                Cell::Time(attempt.text("attemptedAt").unwrap_or_default()),
            ]
        })
        .collect();
    // The newest attempt of each delivery that ended (delivered or failed) can be sent again.
    let mut seen = Vec::new();
    let resend = all
        .iter()
        .filter(|a| {
            let delivery = a.text("deliveryId").unwrap_or_default();
            let first = !seen.contains(&delivery);
            seen.push(delivery);
            first && a.text("deliveryStatus").is_some_and(|s| s == "failed" || s == "delivered")
        })
        .map(|a| {
            let delivery = a.text("deliveryId").unwrap_or_default();
            let path = format!("/webhook-endpoints/{endpoint}/deliveries/{delivery}/retry");
            Action {
                id: format!("resend-{delivery}"),
                label: Text::SendAgain,
                fields: vec![],
                plan: Rc::new(move |_| Ok(Request::new(ui.t(Text::ConfirmSendAgain).into(), "POST", path.clone(), api::object(vec![])))),
            }
        })
        .collect::<Vec<_>>();
    view! {
        <Table columns=vec![Text::Event, Text::StatusCode, Text::Result, Text::When] rows label=Text::Attempts/>
        <Actions actions=resend done=Reload::callback()/>
    }
    .into_any()
}

fn events(answer: JsJson) -> AnyView {
    let rows: Vec<Vec<Cell>> = api::items(&answer)
        .iter()
        .map(|event| vec![Cell::opt(event.text("type")), Cell::Time(event.text("createdAt").unwrap_or_default())])
        .collect();
    view! { <Table columns=vec![Text::Event, Text::Created] rows label=Text::EventLog/> }.into_any()
}
