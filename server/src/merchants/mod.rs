//! Merchants, their keys, and who asks on their behalf ([`Caller`]). The operations a merchant's
//! administrator makes on its keys are [`keys`]'s, on its card processor [`processor`]'s.

use kassa::api::{CreatedApiKey, CreatedMerchant, KeyKind, Permission, Role};
use kassa::id::{ApiKeyId, MerchantId};
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::ids;
use crate::store::{merchants, settings, Store, Tx};

pub mod keys;
pub mod processor;

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
                crate::processor::registry::save(tx, &id, processor, sealed.as_deref(), now_ms()).await?;
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
        &merchants::NewKey { id: &id, merchant_id: merchant, kind, key_hash: &hash_key(&key), key_hint: &hint, permissions, name },
        now_ms(),
    )
    .await?;
    Ok(CreatedApiKey { id, kind, key, permissions: permissions.to_vec(), name: name.map(str::to_owned) })
}

/// Who asks on a merchant's behalf: one of its API keys, or a person signed in to the console.
#[derive(Debug, Clone)]
pub enum Actor {
    Key(kassa::id::ApiKeyId),
    User { id: kassa::id::UserId, email: String, role: Role },
}

/// Who asks: the merchant, who acts for it, and what they may do. A console user acts as a
/// restricted key holding their role's permissions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub merchant_id: MerchantId,
    pub kind: KeyKind,
    pub permissions: Vec<Permission>,
}

impl Caller {
    /// A request made with an API key.
    pub fn key(id: kassa::id::ApiKeyId, merchant_id: MerchantId, kind: KeyKind, permissions: Vec<Permission>) -> Caller {
        Caller { actor: Actor::Key(id), merchant_id, kind, permissions }
    }

    /// A request made by a signed-in user.
    pub fn user(id: kassa::id::UserId, email: String, role: Role, merchant_id: MerchantId) -> Caller {
        Caller { actor: Actor::User { id, email, role }, merchant_id, kind: KeyKind::Restricted, permissions: role.permissions().to_vec() }
    }

    /// The API key's id, when a key made the request.
    pub fn key_id(&self) -> Option<&kassa::id::ApiKeyId> {
        match &self.actor {
            Actor::Key(id) => Some(id),
            Actor::User { .. } => None,
        }
    }

    /// Whose idempotency keys the request's is: the API key's id or the user's.
    pub fn scope(&self) -> &str {
        match &self.actor {
            Actor::Key(id) => id.as_str(),
            Actor::User { id, .. } => id.as_str(),
        }
    }

    /// Who made a change, as the records show it: the key's id or the user's email.
    pub fn label(&self) -> &str {
        match &self.actor {
            Actor::Key(id) => id.as_str(),
            Actor::User { email, .. } => email,
        }
    }

    /// A secret key may do everything; a restricted key what it lists; a console user what their
    /// role holds; a publishable key nothing here (its few browser routes check for it themselves).
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        let allowed = match self.kind {
            KeyKind::Secret => true,
            KeyKind::Restricted => self.permissions.contains(&permission),
            KeyKind::Publishable => false,
        };
        if allowed {
            return Ok(());
        }
        let name = permission.as_str();
        Err(match (&self.actor, self.kind) {
            (Actor::User { role, .. }, _) => ApiError::forbidden(format!("Your role ({}) does not allow `{name}`", role.as_str())),
            (_, KeyKind::Publishable) => ApiError::forbidden("A publishable key cannot do this; use a secret key on your server"),
            _ => ApiError::forbidden(format!("This key lacks the `{name}` permission")),
        })
    }

    /// Managing the merchant itself (keys, webhooks, events, processor): a secret key or an owner.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match &self.actor {
            Actor::User { role, .. } if role.administers() => Ok(()),
            Actor::User { role, .. } => Err(ApiError::forbidden(format!("Only an owner can do this; your role is {}", role.as_str()))),
            Actor::Key(_) if self.kind == KeyKind::Secret => Ok(()),
            Actor::Key(_) => Err(ApiError::forbidden("Only a secret key can do this")),
        }
    }
}

/// SHA-256 of a key, hex: what is stored and looked up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
