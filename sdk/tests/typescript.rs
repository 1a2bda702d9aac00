//! The TypeScript declarations of the wire types (`js/contract.d.ts`) are generated from the Rust
//! types: this test fails when the checked-in file differs from what the types generate, and
//! `KASSA_WRITE_TYPES=1` writes it instead.
//!
//! `cargo test -p kassa --features typescript --test typescript`
#![cfg(feature = "typescript")]

use kassa::api::{
    CaptureMethod, CardSummary, CardToken, IntentStatus, LastError, LineItem, NextAction, PaymentIntent, Resolution, ResolutionKind,
    SavedPaymentMethod,
};
use kassa::card::CardBrand;
use kassa::client::{CardDetails, ConfirmParams, ErrorType, KassaError};
use kassa::id::{CustomerId, OrderId, PaymentIntentId, PaymentMethodId, TokenId};
use kassa::messages::{Appearance, ChallengeMessage, CheckoutMessage, CheckoutUpdate, ParentMessage, Theme};
use kassa::money::{Currency, MinorUnits};
use kassa::ErrorCode;
use ts_rs::{Config, TS};

fn declarations() -> String {
    // Amounts are JSON numbers (whole minor units, at most 10^10), not bigints.
    let cfg = Config::new().with_large_int("number");
    let declare = [
        serde_json::Value::decl(&cfg),
        PaymentIntentId::decl(&cfg),
        TokenId::decl(&cfg),
        PaymentMethodId::decl(&cfg),
        CustomerId::decl(&cfg),
        OrderId::decl(&cfg),
        Currency::decl(&cfg),
        MinorUnits::decl(&cfg),
        CardBrand::decl(&cfg),
        IntentStatus::decl(&cfg),
        CaptureMethod::decl(&cfg),
        LineItem::decl(&cfg),
        NextAction::decl(&cfg),
        ErrorCode::decl(&cfg),
        LastError::decl(&cfg),
        ResolutionKind::decl(&cfg),
        Resolution::decl(&cfg),
        PaymentIntent::decl(&cfg),
        CardSummary::decl(&cfg),
        CardToken::decl(&cfg),
        SavedPaymentMethod::decl(&cfg),
        CardDetails::decl(&cfg),
        ConfirmParams::decl(&cfg),
        ErrorType::decl(&cfg),
        KassaError::decl(&cfg),
        <CheckoutMessage>::decl(&cfg),
        Theme::decl(&cfg),
        Appearance::decl(&cfg),
        CheckoutUpdate::decl(&cfg),
        ParentMessage::decl(&cfg),
        ChallengeMessage::decl(&cfg),
    ];
    let mut out = String::from("// Generated from the Rust contract types (crate `kassa`) by sdk/tests/typescript.rs. Do not edit:\n// change the Rust types and run `KASSA_WRITE_TYPES=1 cargo test -p kassa --features typescript --test typescript`.\n");
    for declaration in declare {
        out.push('\n');
        out.push_str(&declaration.replacen("type ", "export type ", 1));
        out.push('\n');
    }
    out
}

#[test]
fn the_checked_in_declarations_are_what_the_rust_types_generate() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/contract.d.ts");
    let generated = declarations();
    if std::env::var_os("KASSA_WRITE_TYPES").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "js/contract.d.ts differs from what the Rust types generate; run KASSA_WRITE_TYPES=1 cargo test -p kassa --features typescript --test typescript"
    );
}
