//! What the shop sells. Prices come from here, never from the browser.

use kassa::api::LineItem;
use kassa::{Currency, MinorUnits};

use crate::error::{ShopError, ShopResult};

pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub unit_amount_cents: i64,
}

pub const CURRENCY: Currency = Currency::EUR;

pub const CATALOG: &[Product] = &[
    Product { sku: "mug", name: "Kassa mug", description: "Stoneware, 350 ml", unit_amount_cents: 1400 },
    Product { sku: "tee", name: "Kassa T-shirt", description: "Organic cotton", unit_amount_cents: 2500 },
    Product { sku: "stickers", name: "Sticker pack", description: "Six die-cut stickers", unit_amount_cents: 450 },
    Product { sku: "notebook", name: "Notebook", description: "A5, dotted", unit_amount_cents: 1150 },
];

/// What a kiosk customer ordered at the counter.
pub const KIOSK_ORDER: &[(&str, i64, u32)] = &[("Flat white", 380, 2), ("Cinnamon bun", 420, 1)];

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartLine {
    pub sku: String,
    pub quantity: u32,
}

/// A cart priced from the catalog: its total and its line items.
pub fn price(items: &[CartLine]) -> ShopResult<(i64, Vec<LineItem>)> {
    if items.is_empty() || items.len() > 20 {
        return Err(ShopError::validation("items", "a cart holds 1 to 20 lines"));
    }
    let mut lines = Vec::new();
    for (i, line) in items.iter().enumerate() {
        let product = CATALOG
            .iter()
            .find(|p| p.sku == line.sku)
            .ok_or_else(|| ShopError::validation(&format!("items[{i}].sku"), "no such product"))?;
        if !(1..=99).contains(&line.quantity) {
            return Err(ShopError::validation(&format!("items[{i}].quantity"), "quantity must be 1 to 99"));
        }
        lines.push(LineItem {
            name: product.name.into(),
            unit_amount_cents: MinorUnits(product.unit_amount_cents),
            quantity: line.quantity,
            description: Some(product.description.into()),
        });
    }
    Ok((total(&lines), lines))
}

pub fn kiosk_order() -> (i64, Vec<LineItem>) {
    let lines: Vec<LineItem> = KIOSK_ORDER
        .iter()
        .map(|(name, cents, quantity)| LineItem {
            name: (*name).into(),
            unit_amount_cents: MinorUnits(*cents),
            quantity: *quantity,
            description: None,
        })
        .collect();
    (total(&lines), lines)
}

fn total(lines: &[LineItem]) -> i64 {
    lines.iter().map(|l| l.unit_amount_cents.get() * i64::from(l.quantity)).sum()
}
