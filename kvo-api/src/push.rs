//! Web Push: subscriptions, preferences, and the message a push carries.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The server's VAPID public key, for `pushManager.subscribe({applicationServerKey})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PushKey {
    /// Uncompressed P-256 point, base64url without padding.
    pub public_key: String,
}

/// The keys of a browser's push subscription (RFC 8291).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The 16-byte auth secret, base64url.
    pub auth: String,
}

/// `POST /api/v1/push/subscriptions`: a browser's `PushSubscription.toJSON()` plus the area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub area_id: Uuid,
    /// The push service's URL (https).
    #[cfg_attr(feature = "openapi", schema(pattern = "^https://[!-~]+$", max_length = 2000))]
    pub endpoint: String,
    /// What browsers add to `toJSON()`; ignored.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<serde_json::Value>,
    pub keys: SubscriptionKeys,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Subscription {
    pub id: Uuid,
    pub area_id: Uuid,
    pub endpoint: String,
}

/// What a person wants to be told in an area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushPreferences {
    /// New reports of these categories (beveiliger, werkgroep and partners).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::CategoryCode>))]
    pub new_categories: Vec<String>,
    /// Urgent reports (overval, agressie, brandgevaar) while on duty.
    pub urgent: bool,
    /// Status changes of my own reports.
    pub own_status: bool,
    /// On duty now (a beveiliger on patrol is on duty anyway).
    pub on_duty: bool,
}

impl Default for PushPreferences {
    fn default() -> Self {
        PushPreferences { new_categories: vec![], urgent: true, own_status: true, on_duty: false }
    }
}

/// Why a push was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushReason {
    /// A new report of a category you follow.
    New,
    /// An urgent report while you are on duty.
    Urgent,
    /// The status of your report changed.
    Status,
}

/// The decrypted payload of a push: no description, location or names, only
/// what the notification shows and the link to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PushMessage {
    /// Unique per delivery: a repeated delivery carries the same id.
    pub id: String,
    pub reason: PushReason,
    pub area_id: Uuid,
    pub incident_id: Uuid,
    pub category: String,
    pub status: crate::wire::IncidentStatus,
    /// Notification title and body, in Dutch.
    pub title: String,
    pub body: String,
    /// Where the notification leads, relative to the server.
    pub url: String,
}
