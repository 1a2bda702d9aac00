use serde::{Deserialize, Serialize};

use crate::id::{ApiKeyId, MerchantId};

/// What a restricted key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Permission {
    #[serde(rename = "payments.transactions.create")]
    TransactionsCreate,
    #[serde(rename = "payments.transactions.void")]
    TransactionsVoid,
    #[serde(rename = "payments.transactions.view")]
    TransactionsView,
    #[serde(rename = "payments.methods.manage")]
    MethodsManage,
    #[serde(rename = "payments.methods.view")]
    MethodsView,
    #[serde(rename = "orders.manage")]
    OrdersManage,
    #[serde(rename = "orders.view")]
    OrdersView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// `sk_test_…`: everything.
    Secret,
    /// `rk_test_…`: a list of permissions.
    Restricted,
    /// `pk_test_…`: the browser's key.
    Publishable,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => "sk_test_",
            KeyKind::Restricted => "rk_test_",
            KeyKind::Publishable => "pk_test_",
        }
    }
}

/// `POST /api/v1/api-keys` (secret key only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub kind: KeyKind,
    /// Required for a restricted key, refused for the others.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// A key as shown once, when created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub id: ApiKeyId,
    pub kind: KeyKind,
    pub key: String,
    pub permissions: Vec<Permission>,
    pub name: Option<String>,
}

/// What `kassa-server merchant create` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedMerchant {
    pub merchant_id: MerchantId,
    pub secret_key: String,
    pub publishable_key: String,
}

/// An API key as listed: never the key itself, only a hint of its last characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub kind: KeyKind,
    /// `sk_test_…wxyz`.
    pub hint: String,
    pub permissions: Vec<Permission>,
    pub name: Option<String>,
    pub created_at: String,
    /// When the key stops working (a rolled key's grace period ends), if it does.
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `POST /api/v1/api-keys/{id}/roll`: a new key in place of this one, which keeps working for
/// `expiresInSeconds` (0 to 7 days; 1 hour unless given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollApiKeyRequest {
    #[serde(default)]
    pub expires_in_seconds: Option<u32>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}
