//! People who sign in to the merchant console, their roles, and their sessions.

use serde::{Deserialize, Serialize};

use super::Permission;
use crate::id::{MerchantId, UserId};

/// What a console user may do. Each role is a set of the key permissions; only an owner manages
/// the merchant's keys, webhooks and processor, as only a secret key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, as the secret key.
    Owner,
    /// Every payment and order action, refunds and voids included.
    Manager,
    /// Takes and captures payments and records order payments; cannot refund, void or resolve.
    Staff,
    /// Sees payments, saved cards and orders; changes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Staff, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The key permissions the role holds.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Owner | Role::Manager => {
                &[TransactionsCreate, TransactionsVoid, TransactionsView, MethodsManage, MethodsView, OrdersManage, OrdersView]
            }
            Role::Staff => &[TransactionsCreate, TransactionsView, MethodsView, OrdersManage, OrdersView],
            Role::Viewer => &[TransactionsView, MethodsView, OrdersView],
        }
    }

    /// Whether the role manages the merchant itself: keys, webhooks, events and the processor.
    pub fn administers(self) -> bool {
        self == Role::Owner
    }
}

/// A console user as the API shows them: never a password or its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub created_at: String,
}

/// `POST /api/v1/console/session`: sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInRequest {
    #[cfg_attr(feature = "openapi", schema(example = "ana@shop.example", min_length = 3, max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub password: String,
}

/// `POST /api/v1/console/setup`: choose a password with the one-time setup token that
/// `kassa-server user create` printed; it signs the user in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetUpRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub token: String,
    /// At least [`MIN_PASSWORD_LEN`] characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 1024))]
    pub password: String,
}

/// The shortest password a user may choose.
pub const MIN_PASSWORD_LEN: usize = 12;
/// The longest password taken (hashing is costly; nobody types more).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The signed-in user's session: who they are, what they may do, and the token every change they
/// make must carry in the `X-CSRF-Token` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSession {
    pub user: User,
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    pub permissions: Vec<Permission>,
    /// Whether the user manages keys, webhooks and events.
    pub administers: bool,
    pub csrf_token: String,
    /// When the session ends unless used before: it is extended by use, up to its lifetime.
    pub idle_expires_at: String,
    /// When the session ends however much it is used.
    pub expires_at: String,
}

/// What `kassa-server user create` prints: the user and their one-time setup token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    pub user: User,
    pub merchant_id: MerchantId,
    /// Shown this once; it sets the password at `setupPath` until `setupExpiresAt`.
    pub setup_token: String,
    /// `/console/#setup=…`, relative to the server's address.
    pub setup_path: String,
    pub setup_expires_at: String,
}
