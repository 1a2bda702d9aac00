//! Merchants and their keys.

use kassa::api::{CreatedApiKey, CreatedMerchant, KeyKind, Permission};
use kassa::id::{ApiKeyId, MerchantId};
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::ids;
use crate::store::{merchants, settings, Store, Tx};

/// Creates a merchant with a secret and a publishable key; the keys are returned this once.
pub async fn create(store: &Store, name: &str) -> Result<CreatedMerchant, sqlx::Error> {
    let name = name.to_owned();
    store.write(move |tx| Box::pin(async move { insert(tx, &ids::new(), &name).await })).await
}

/// Creates a merchant whose payments go to `processor`, its credentials sealed with `keyring`.
pub async fn create_with_processor(
    store: &Store,
    keyring: &crate::crypto::Keyring,
    name: &str,
    processor: kassa::api::ProcessorKind,
    credentials: Option<&crate::processor::registry::Credentials>,
) -> Result<CreatedMerchant, sqlx::Error> {
    let id = ids::new::<MerchantId>();
    let sealed = crate::processor::registry::seal(keyring, &id, credentials);
    let name = name.to_owned();
    store
        .write(move |tx| {
            Box::pin(async move {
                let created = insert(tx, &id, &name).await?;
                crate::processor::registry::save(tx, &id, processor, sealed.as_deref()).await?;
                Ok(created)
            })
        })
        .await
}

/// Creates the merchant the setting `role` names, unless it names one already: of servers starting
/// together on one database, exactly one creates it (and gets its keys); the others get `None`.
pub async fn create_once(store: &Store, role: &str, name: &str) -> Result<Option<CreatedMerchant>, sqlx::Error> {
    let (role, name) = (role.to_owned(), name.to_owned());
    store
        .write(move |tx| {
            Box::pin(async move {
                let id = ids::new::<MerchantId>();
                // The setting is claimed first: a second server's claim waits for this
                // transaction and then finds it taken.
                if !settings::claim(tx, &role, &id.to_string()).await? {
                    return Ok(None);
                }
                insert(tx, &id, &name).await.map(Some)
            })
        })
        .await
}

async fn insert(tx: &mut Tx, id: &MerchantId, name: &str) -> Result<CreatedMerchant, sqlx::Error> {
    merchants::insert_merchant(tx, id, name, now_ms()).await?;
    let secret = issue_key(tx, id, KeyKind::Secret, &[], Some("Default secret key")).await?;
    let publishable = issue_key(tx, id, KeyKind::Publishable, &[], Some("Default publishable key")).await?;
    Ok(CreatedMerchant { merchant_id: id.clone(), secret_key: secret.key, publishable_key: publishable.key })
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

/// Who asks: a merchant's API key, by its public id, kind and permissions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's public id, never the key.
    pub key_id: kassa::id::ApiKeyId,
    pub merchant_id: MerchantId,
    pub kind: KeyKind,
    pub permissions: Vec<Permission>,
}

impl Caller {
    /// A secret key may do everything; a restricted key what it lists; a publishable key nothing
    /// here (its few browser routes check for it themselves).
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        let allowed = match self.kind {
            KeyKind::Secret => true,
            KeyKind::Restricted => self.permissions.contains(&permission),
            KeyKind::Publishable => false,
        };
        if allowed {
            Ok(())
        } else if self.kind == KeyKind::Publishable {
            Err(ApiError::forbidden("A publishable key cannot do this; use a secret key on your server"))
        } else {
            Err(ApiError::forbidden(format!("This key lacks the `{}` permission", permission_name(permission))))
        }
    }

    pub fn require_secret(&self) -> Result<(), ApiError> {
        if self.kind == KeyKind::Secret {
            Ok(())
        } else {
            Err(ApiError::forbidden("Only a secret key can do this"))
        }
    }
}

fn permission_name(permission: Permission) -> String {
    serde_json::to_value(permission).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// SHA-256 of a key, hex: what is stored and looked up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
