use kassa::api::{CardSummary, CardToken};
use kassa::id::{MerchantId, TokenId};
use sqlx::Row;

use super::merchants::decode_error;
use super::{Store, Tx};
use crate::clock::format_ms;

/// A single-use token and the processor's handle for the card behind it.
pub struct StoredToken {
    pub id: TokenId,
    pub processor_token: String,
    pub card: CardSummary,
    pub used: bool,
    pub created_at: i64,
}

impl StoredToken {
    pub fn to_api(&self) -> CardToken {
        CardToken {
            id: self.id.clone(),
            kind: "card".into(),
            card: self.card.clone(),
            used: self.used,
            created_at: format_ms(self.created_at),
        }
    }
}

pub async fn insert(tx: &mut Tx, merchant: &MerchantId, token: &StoredToken) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO card_tokens (id, merchant_id, processor_token, brand, last4, exp_month, exp_year,
                                  fingerprint, used_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
    )
    .bind(&token.id)
    .bind(merchant)
    .bind(&token.processor_token)
    .bind(token.card.brand.as_str())
    .bind(&token.card.last4)
    .bind(i64::from(token.card.exp_month))
    .bind(i64::from(token.card.exp_year))
    .bind(&token.card.fingerprint)
    .bind(token.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn find(store: &Store, merchant: &MerchantId, id: &TokenId) -> Result<Option<StoredToken>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, processor_token, brand, last4, exp_month, exp_year, fingerprint, used_at, created_at
         FROM card_tokens WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant)
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        let brand: String = row.try_get("brand")?;
        Ok(StoredToken {
            id: row.try_get("id")?,
            processor_token: row.try_get("processor_token")?,
            card: CardSummary {
                brand: brand.parse().map_err(|_| decode_error("card_tokens.brand", &brand))?,
                last4: row.try_get("last4")?,
                exp_month: row.try_get::<i64, _>("exp_month")? as u32,
                exp_year: row.try_get::<i64, _>("exp_year")? as u32,
                fingerprint: row.try_get("fingerprint")?,
            },
            used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
            created_at: row.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Marks a token used; false when it already was (a token pays once).
pub async fn consume(tx: &mut Tx, merchant: &MerchantId, id: &TokenId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE card_tokens SET used_at = $1 WHERE merchant_id = $2 AND id = $3 AND used_at IS NULL")
        .bind(now)
        .bind(merchant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
