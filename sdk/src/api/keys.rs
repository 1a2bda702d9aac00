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

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::TransactionsCreate,
        Permission::TransactionsVoid,
        Permission::TransactionsView,
        Permission::MethodsManage,
        Permission::MethodsView,
        Permission::OrdersManage,
        Permission::OrdersView,
    ];

    /// The name on the wire, `payments.transactions.create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TransactionsCreate => "payments.transactions.create",
            Permission::TransactionsVoid => "payments.transactions.void",
            Permission::TransactionsView => "payments.transactions.view",
            Permission::MethodsManage => "payments.methods.manage",
            Permission::MethodsView => "payments.methods.view",
            Permission::OrdersManage => "orders.manage",
            Permission::OrdersView => "orders.view",
        }
    }
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

/// The card processor a merchant's payments go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProcessorKind {
    /// Kassa's built-in sandbox with the well-known test cards (the default).
    Sandbox,
    /// Stripe, through its REST API.
    Stripe,
}

impl ProcessorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessorKind::Sandbox => "sandbox",
            ProcessorKind::Stripe => "stripe",
        }
    }

    pub fn parse(text: &str) -> Option<ProcessorKind> {
        [ProcessorKind::Sandbox, ProcessorKind::Stripe].into_iter().find(|k| k.as_str() == text)
    }
}

/// `POST /api/v1/processor` (secret key only): where this merchant's payments go from now on.
/// Payments already made stay with the processor that made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateProcessorRequest {
    pub processor: ProcessorKind,
    /// The processor's secret API key (Stripe: `sk_…` or a restricted `rk_…`); required for Stripe.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The signing secret of the processor's webhook endpoint that calls
    /// `/processor-webhooks/stripe/{merchantId}` (Stripe: `whsec_…`).
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

/// A merchant's processor as the API shows it: never the secrets, only their hints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProcessorSettings {
    pub processor: ProcessorKind,
    /// The first and last characters of the secret key, e.g. `sk_test_…4242`.
    pub secret_key_hint: Option<String>,
    /// Whether processor webhooks are verified (a signing secret is set).
    pub webhook_secret_set: bool,
    /// Where the processor sends its webhooks, relative to this server's address.
    pub webhook_path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::Permission;

    #[test]
    fn permission_names_are_their_wire_names() {
        for permission in Permission::ALL {
            assert_eq!(serde_json::to_value(permission).unwrap(), permission.as_str());
        }
    }
}
