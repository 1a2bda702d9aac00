//! The rules a request's amounts, texts, line items, metadata and card must follow.

use super::context::*;

pub(super) fn check_amount(field: &str, amount: impl Into<i64>) -> ApiResult<()> {
    let amount: i64 = amount.into();
    if amount <= 0 || amount > MAX_AMOUNT_CENTS {
        return Err(ApiError::validation(
            field,
            format!("{field} must be a positive whole number of minor units, at most {MAX_AMOUNT_CENTS}"),
        ));
    }
    Ok(())
}

pub(super) fn check_text(field: &str, value: Option<&String>) -> ApiResult<()> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > MAX_TEXT => {
            Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_TEXT} characters")))
        }
        _ => Ok(()),
    }
}

pub(super) fn check_line_items(items: &[kassa::api::LineItem]) -> ApiResult<()> {
    for (i, item) in items.iter().enumerate() {
        if item.name.is_empty() || item.name.chars().count() > MAX_TEXT {
            return Err(ApiError::validation(&format!("lineItems[{i}].name"), "a line item needs a name of 1 to 255 characters"));
        }
        if !(0..=MAX_AMOUNT_CENTS).contains(&item.unit_amount_cents.get()) {
            return Err(ApiError::validation(&format!("lineItems[{i}].unitAmountCents"), "unitAmountCents must be zero or positive"));
        }
        if item.quantity == 0 {
            return Err(ApiError::validation(&format!("lineItems[{i}].quantity"), "quantity must be at least 1"));
        }
    }
    Ok(())
}

pub(super) fn check_metadata(metadata: &serde_json::Map<String, serde_json::Value>) -> ApiResult<()> {
    if metadata.len() > MAX_METADATA_KEYS || metadata.keys().any(|k| k.is_empty() || k.chars().count() > 40) {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys of 1 to 40 characters"));
    }
    Ok(())
}

/// The checks a card's number (already Luhn- and length-checked by parsing) does not cover.
pub(super) fn check_card(card: &CardInput) -> ApiResult<Expiry> {
    use kassa::card::CardError;
    let expiry = Expiry::new(card.exp_month, card.exp_year, year_month()).map_err(|e| match e {
        CardError::InvalidExpiryMonth => ApiError::validation("card.expMonth", format!("card.expMonth: {e}")),
        _ => ApiError::validation("card.expYear", format!("card.expYear: {e}")),
    })?;
    if let Some(cvc) = &card.cvc {
        cvc.check_for(card.number.brand()).map_err(|e| ApiError::validation("card.cvc", format!("card.cvc: {e}")))?;
    }
    check_text("card.name", card.name.as_ref())?;
    // Postal codes the world over are letters, digits, spaces and dashes.
    let postal = |p: &String| p.len() <= 16 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    if card.postal_code.as_ref().is_some_and(|p| !postal(p)) {
        return Err(ApiError::validation("card.postalCode", "card.postalCode must be at most 16 letters, digits, spaces or dashes"));
    }
    Ok(expiry)
}
