//! Merchants and their keys.

use kassa::api::{CreatedApiKey, CreatedMerchant, KeyKind, Permission};
use kassa::id::{ApiKeyId, MerchantId};

use crate::clock::now_ms;
use crate::http::auth::hash_key;
use crate::ids;
use crate::store::{merchants, Store, Tx};

/// Creates a merchant with a secret and a publishable key; the keys are returned this once.
pub async fn create(store: &Store, name: &str) -> Result<CreatedMerchant, sqlx::Error> {
    let id = ids::new::<MerchantId>();
    let name = name.to_owned();
    store
        .write(move |tx| {
            Box::pin(async move {
                merchants::insert_merchant(tx, &id, &name, now_ms()).await?;
                let secret = issue_key(tx, &id, KeyKind::Secret, &[], Some("Default secret key")).await?;
                let publishable =
                    issue_key(tx, &id, KeyKind::Publishable, &[], Some("Default publishable key")).await?;
                Ok(CreatedMerchant { merchant_id: id, secret_key: secret.key, publishable_key: publishable.key })
            })
        })
        .await
}

/// Makes a new key; only its hash and a short hint are stored.
pub async fn issue_key(
    tx: &mut Tx,
    merchant: &MerchantId,
    kind: KeyKind,
    permissions: &[Permission],
    name: Option<&str>,
) -> Result<CreatedApiKey, sqlx::Error> {
    let id = ids::new::<ApiKeyId>();
    let key = ids::secret(kind.prefix());
    let hint = format!("{}…{}", kind.prefix(), &key[key.len() - 4..]);
    merchants::insert_key(
        tx,
        &merchants::NewKey {
            id: &id,
            merchant_id: merchant,
            kind,
            key_hash: &hash_key(&key),
            key_hint: &hint,
            permissions,
            name,
        },
        now_ms(),
    )
    .await?;
    Ok(CreatedApiKey { id, kind, key, permissions: permissions.to_vec(), name: name.map(str::to_owned) })
}
