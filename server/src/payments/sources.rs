//! What pays: a typed card (tokenized at the processor), a single-use token, or a saved card;
//! and saving the card afterwards when the customer asked.

use super::checks::check_card;
use super::context::*;
use super::outcome::processor_failure;

/// Hands the card to the processor and returns its token and the card facts Kassa keeps.
pub(super) async fn tokenize_card(ctx: &Ctx<'_>, card: &CardInput) -> ApiResult<(String, CardSummary)> {
    let expiry = check_card(card)?;
    let processor = ctx.state.processor_for(ctx.merchant).await?;
    // A processor that never answers holds no request for ever: nothing was charged yet, so the
    // card is simply not taken.
    let card_data = CardData { number: &card.number, cvc: card.cvc.as_ref(), expiry, postal_code: card.postal_code.as_deref() };
    let tokenized = within(ctx.state.processor_timeout, processor.tokenize(&card_data)).await.map_err(|e| processor_failure(&e))?;
    let summary = CardSummary {
        brand: card.number.brand(),
        last4: card.number.last4().to_owned(),
        exp_month: expiry.month,
        exp_year: expiry.year,
        fingerprint: tokenized.fingerprint,
    };
    Ok((tokenized.processor_token, summary))
}

/// Where the money comes from.
pub(super) enum Source {
    Card {
        processor_token: String,
        card: CardSummary,
    },
    Token(StoredToken),
    Saved(StoredMethod),
    /// The card of an earlier, failed payment (a retry).
    Original(Box<IntentRecord>),
}

impl Source {
    pub(super) fn processor_token(&self) -> &str {
        match self {
            Source::Card { processor_token, .. } => processor_token,
            Source::Token(token) => &token.processor_token,
            Source::Saved(saved) => &saved.processor_token,
            Source::Original(original) => original.processor_token.as_deref().unwrap_or_default(),
        }
    }

    /// Puts the card's facts on the intent (a saved card also names its customer).
    pub(super) fn describe(&self, intent: &mut IntentRecord) {
        let card = match self {
            Source::Card { card, .. } => Some(card),
            Source::Token(token) => Some(&token.card),
            Source::Saved(saved) => {
                intent.customer_id = Some(saved.method.customer_id.to_string());
                Some(&saved.method.card)
            }
            Source::Original(original) => {
                intent.card_brand = original.card_brand;
                intent.card_last4 = original.card_last4.clone();
                intent.card_fingerprint = original.card_fingerprint.clone();
                intent.card_exp_month = original.card_exp_month;
                intent.card_exp_year = original.card_exp_year;
                None
            }
        };
        if let Some(card) = card {
            intent.card_brand = Some(card.brand);
            intent.card_last4 = Some(card.last4.clone());
            intent.card_fingerprint = Some(card.fingerprint.clone());
            intent.card_exp_month = Some(card.exp_month);
            intent.card_exp_year = Some(card.exp_year);
        }
        intent.payment_method_type = Some("card".into());
        intent.processor_token = Some(self.processor_token().to_owned());
        intent.payment_method_id = match self {
            Source::Token(token) => Some(token.id.to_string()),
            Source::Saved(saved) => Some(saved.method.id.to_string()),
            Source::Card { .. } => None,
            Source::Original(original) => original.payment_method_id.clone(),
        };
    }

    pub(super) fn spent_token(&self) -> Option<TokenId> {
        match self {
            Source::Token(token) => Some(token.id.clone()),
            _ => None,
        }
    }
}

pub(crate) const TOKEN_USED: &str = "This card token was already used; tokenize the card again";

/// Uses up a single-use token inside the change that pays with it; a token pays once.
pub(crate) async fn spend_token(tx: &mut Tx, merchant: &MerchantId, token: Option<&TokenId>, now: i64) -> ApiResult<()> {
    match token {
        Some(token) if !tokens::consume(tx, merchant, token, now).await? => Err(ApiError::invalid_state(TOKEN_USED)),
        _ => Ok(()),
    }
}

/// Resolves at most one of a card, a token or a saved card; `None` when none was given.
pub(super) async fn resolve_source(
    ctx: &Ctx<'_>,
    card: Option<&CardInput>,
    token: Option<&TokenId>,
    saved: Option<&PaymentMethodId>,
) -> ApiResult<Option<Source>> {
    let given = [card.is_some(), token.is_some(), saved.is_some()].iter().filter(|g| **g).count();
    if given > 1 {
        return Err(ApiError::validation("card", "Provide exactly one of card, token or paymentMethodId"));
    }
    if let Some(card) = card {
        let (processor_token, card) = tokenize_card(ctx, card).await?;
        return Ok(Some(Source::Card { processor_token, card }));
    }
    if let Some(id) = token {
        let token = tokens::find(&ctx.state.store, ctx.merchant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("card token").with_details(json!({ "field": "token" })))?;
        if token.used {
            return Err(ApiError::invalid_state(TOKEN_USED));
        }
        return Ok(Some(Source::Token(token)));
    }
    if let Some(id) = saved {
        let saved = customers::find_method(&ctx.state.store, ctx.merchant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment method").with_details(json!({ "field": "paymentMethodId" })))?;
        return Ok(Some(Source::Saved(saved)));
    }
    Ok(None)
}

/// Saves the card just paid with to the intent's customer, when asked to, when it is not a saved
/// card already, and when this change is the one that paid (`before` is the status it changed
/// from): a capture, tip or void of a payment whose authorization saved the card saves nothing.
pub(crate) async fn save_card_if_asked(
    tx: &mut Tx,
    merchant: &MerchantId,
    before: IntentStatus,
    intent: &IntentRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    let paid = intent.status.succeeded() && !before.succeeded();
    if !(paid && intent.save_card) {
        return Ok(());
    }
    let customer = intent.customer_id.as_deref().and_then(|c| c.parse::<CustomerId>().ok());
    let card = (|| {
        Some(CardSummary {
            brand: intent.card_brand?,
            last4: intent.card_last4.clone()?,
            exp_month: intent.card_exp_month?,
            exp_year: intent.card_exp_year?,
            fingerprint: intent.card_fingerprint.clone()?,
        })
    })();
    let (Some(card), Some(customer), Some(processor_token)) = (card, customer, intent.processor_token.clone()) else {
        return Ok(());
    };
    // A card paid for with a token keeps the token's id as a saved card; one paid for as a saved
    // card is saved already.
    let id = match intent.payment_method_id.as_deref() {
        None => ids::new(),
        Some(id) => match id.parse::<TokenId>() {
            Ok(token) => ids::saved_from(&token),
            Err(_) => return Ok(()),
        },
    };
    let method = kassa::api::SavedPaymentMethod {
        id,
        customer_id: customer,
        kind: "card".into(),
        card,
        nickname: None,
        is_default: false,
        created_at: crate::clock::format_ms(now),
    };
    customers::insert_method(tx, merchant, &StoredMethod { method, processor_token }, now).await?;
    Ok(())
}
