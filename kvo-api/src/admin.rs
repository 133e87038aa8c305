//! Running an area: who may change what ([`PERMISSIONS`], one table, also in
//! `docs/administration.md`), which roles can be handed out and how, and the
//! requests and answers of the beheerder's console.
//!
//! The werkgroep keeps its own powers (the follow-up table in
//! [`crate::follow_up`]); administration is the beheerder's alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Dimension, Role, Theme, questions::Question, wire::AreaKind};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An administrative change, as it is checked and written to the audit log.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// Change an area's name, kind, municipality or boundary, or archive it;
    /// its retention, public view and the gemeente's Open311 endpoint.
    EditArea,
    /// Draw, change, rename and delete zones.
    EditZones,
    /// Enable, disable and tune categories, their questions, and add the area's own.
    EditCategories,
    /// Create, list and revoke invites.
    Invite,
    /// List members, change a role, remove a person, revoke a device, create
    /// web accounts and Open311 keys.
    ManagePeople,
    /// Import the gemeente's registers: assets and street centrelines.
    EditRegisters,
    /// Read the audit log.
    ReadAuditLog,
}

crate::coded!(AdminAction);

/// Who may do each administrative action. Creating a new area is allowed to
/// whoever is beheerder of at least one area; they become its beheerder.
pub const PERMISSIONS: &[(AdminAction, &[Role])] = &[
    (AdminAction::EditArea, &[Role::Beheerder]),
    (AdminAction::EditZones, &[Role::Beheerder]),
    (AdminAction::EditCategories, &[Role::Beheerder]),
    (AdminAction::Invite, &[Role::Beheerder]),
    (AdminAction::ManagePeople, &[Role::Beheerder]),
    (AdminAction::EditRegisters, &[Role::Beheerder]),
    (AdminAction::ReadAuditLog, &[Role::Beheerder]),
];

/// Whether `role` may do `action` in its area.
pub fn may(role: Role, action: AdminAction) -> bool {
    PERMISSIONS.iter().any(|(a, roles)| *a == action && roles.contains(&role))
}

/// How a role reaches a person: an invite redeemed on a phone, or a web
/// account with a password the person sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Invite,
    Account,
}

/// Whether a role can be handed out this way. A phone invite never carries
/// the beheerder role: administration is done on the web, with an account
/// whose password only its owner knows, not with a token on a phone that can
/// be lost. Every other role can be given either way.
pub fn grantable(role: Role, how: Grant) -> bool {
    !(role == Role::Beheerder && how == Grant::Invite)
}

/// The most uses one invite may have, and the longest it may stay valid.
pub const MAX_INVITE_USES: u32 = 500;
pub const MAX_INVITE_DAYS: u32 = 90;

/// `POST /api/v1/areas`: a new area. The boundary is a GeoJSON Polygon or
/// MultiPolygon (a Feature or FeatureCollection of them is accepted too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewArea {
    pub name: String,
    pub kind: AreaKind,
    #[serde(default)]
    pub municipality: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub boundary: serde_json::Value,
}

/// `PATCH /api/v1/areas/{id}`: what changes; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AreaChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<AreaKind>,
    #[serde(default)]
    pub municipality: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub boundary: Option<serde_json::Value>,
}

/// `POST /api/v1/areas/{id}/zones`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewZone {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub geometry: serde_json::Value,
}

/// `PATCH /api/v1/areas/{id}/zones/{zone_id}`: rename, redraw, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ZoneChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub geometry: Option<serde_json::Value>,
}

/// A category with everything the beheerder can set (`GET
/// /api/v1/areas/{id}/category-settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CategorySettings {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    pub enabled: bool,
    pub urgent: bool,
    /// "Al gemeld in de buurt": how far, in metres (0–5000) …
    pub duplicate_radius_m: u32,
    /// … and how many weeks around the report (1–104).
    pub duplicate_weeks: u32,
    pub questions: Vec<Question>,
    /// The area's own category (not one of the KVO defaults).
    pub custom: bool,
}

/// `PATCH /api/v1/areas/{id}/categories/{code}`: absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CategoryChange {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub urgent: Option<bool>,
    #[serde(default, deserialize_with = "crate::validate::whole_number_opt")]
    pub duplicate_radius_m: Option<u32>,
    #[serde(default, deserialize_with = "crate::validate::whole_number_opt")]
    pub duplicate_weeks: Option<u32>,
    #[serde(default)]
    pub questions: Option<Vec<Question>>,
}

/// `POST /api/v1/areas/{id}/categories`: the area's own category, mapped to
/// a KVO theme and to schoon, heel or veilig so the analysis counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Lower case letters, digits and `_`, at most 40.
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Theme,
    pub dimension: Dimension,
    #[serde(default)]
    pub urgent: bool,
}

/// `POST /api/v1/areas/{id}/invites`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInviteRequest {
    pub role: Role,
    /// How many phones may redeem it (1–500).
    #[serde(default = "one", deserialize_with = "crate::validate::whole_number")]
    pub uses: u32,
    /// Days until it expires (1–90).
    #[serde(default = "fourteen", deserialize_with = "crate::validate::whole_number")]
    pub days: u32,
}

fn one() -> u32 {
    1
}
fn fourteen() -> u32 {
    14
}

/// Where an invite stands.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    Open,
    UsedUp,
    Expired,
    Revoked,
}

crate::coded!(InviteState);

/// An invite as the beheerder lists it (the code itself is shown once, when made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InviteInfo {
    pub id: Uuid,
    pub role: Role,
    pub max_uses: u32,
    pub uses: u32,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub state: InviteState,
}

/// A new invite: the code and link are shown this once (stored only hashed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedInvite {
    pub invite: InviteInfo,
    pub code: String,
    /// Opens the reporting app with the code filled in.
    pub link: String,
    /// The link as a QR code (SVG).
    pub qr_svg: String,
}

/// A phone of a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeviceInfo {
    pub id: Uuid,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A member of an area as the beheerder sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MemberInfo {
    pub person_id: Uuid,
    pub display_name: String,
    /// Web accounts only.
    pub email: Option<String>,
    pub role: Role,
    pub since: DateTime<Utc>,
    /// A web account whose password has been set.
    pub has_password: bool,
    pub devices: Vec<DeviceInfo>,
}

/// `PUT /api/v1/areas/{id}/members/{person_id}/role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// `POST /api/v1/areas/{id}/accounts`: a web account for a werkgroep member
/// or a partner. The person sets their own password through the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

/// `POST /api/v1/areas/{id}/open311-keys`: an API key with which a partner
/// organisation's system (the gemeente's buitendienst, say) files reports
/// through Open311 (`POST /open311/v2/requests`). The key acts as a member
/// of the area with the organisation's role, named "Open311: {name}".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The system it is for ("Buitendienst gemeente Deventer"), 1–80 characters.
    pub name: String,
    pub organisation: crate::follow_up::Organisation,
}

/// A new Open311 API key: shown this once. It is revoked like a phone
/// (`DELETE /api/v1/areas/{id}/devices/{device_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedApiKey {
    pub api_key: String,
    pub person_id: Uuid,
    pub device_id: Uuid,
}

/// `PUT /api/v1/areas/{id}/open311-endpoint`: the gemeente's own Open311
/// endpoint, to which reports assigned to the gemeente are forwarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Open311Endpoint {
    /// The GeoReport v2 base, e.g. `https://meldingen.deventer.nl/open311/v2` (http or https, at most 500 characters).
    pub url: String,
    /// The key the gemeente gave us (1–500 characters); never shown again.
    pub api_key: String,
    #[serde(default)]
    pub jurisdiction_id: Option<String>,
    /// The gemeente's service code per category of ours (categories without one are not forwarded).
    #[serde(default)]
    pub service_codes: std::collections::BTreeMap<String, String>,
}

/// `GET /api/v1/areas/{id}/open311-endpoint`: the endpoint (without its key)
/// and how forwarding goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Open311EndpointInfo {
    pub url: String,
    pub jurisdiction_id: Option<String>,
    pub service_codes: std::collections::BTreeMap<String, String>,
    /// Reports waiting to be sent (or to be tried again).
    pub waiting: i64,
    pub sent: i64,
    /// Reports the gemeente refused, or that could not be sent for a day.
    pub given_up: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// The shortest and longest retention an area may set, in months.
pub const RETENTION_MONTHS: std::ops::RangeInclusive<i64> = 1..=120;

/// `PUT /api/v1/areas/{id}/retention`: how many months after a report is
/// closed its personal data is removed (1–120; 24 by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionSetting {
    #[serde(deserialize_with = "crate::validate::integer")]
    pub months: i64,
}

/// What the retention removes in an area: what it would remove now (a dry
/// run: `GET` and `PUT …/retention`), or what it removed (the nightly run,
/// in the audit log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionSummary {
    pub months: i32,
    /// Reports closed before this moment are anonymised.
    pub cutoff: DateTime<Utc>,
    pub dry_run: bool,
    /// Reports whose reporter, description, text answers and history notes go.
    pub reports: i64,
    /// Comments on them whose text goes.
    pub comments: i64,
    /// Photos of them that are deleted.
    pub photos: i64,
    /// Phones of people who left the area before the cutoff, deleted.
    pub devices: i64,
    /// Push subscriptions of people who left before the cutoff, deleted.
    pub push_subscriptions: i64,
}

/// `PUT /api/v1/areas/{id}/public-view`: publish the area's aggregated
/// figures for everyone, or stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicViewSetting {
    pub enabled: bool,
    /// Show the descriptions of schoon and heel reports in Open311's public
    /// lists (never those of veilig reports); off unless set.
    #[serde(default)]
    pub open311_descriptions: bool,
}

/// Whether the area's public view is on, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicViewInfo {
    pub enabled: bool,
    pub open311_descriptions: bool,
    /// The area's slug (its Open311 jurisdiction too).
    pub slug: String,
    /// `/api/v1/public/{slug}`.
    pub path: String,
}

/// A one-time link to set a password: shown this once, for the beheerder
/// to hand to the person (the beheerder never knows the password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasswordLink {
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// The answer to a new account: the person, and the link to set their
/// password (none when the person already has an account with a password;
/// they sign in as before and see the new area).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedAccount {
    pub person_id: Uuid,
    pub password_link: Option<PasswordLink>,
}

/// `POST /api/v1/password`: the person sets their password with the link's token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub token: String,
    /// At least 10 characters.
    pub password: String,
}

/// One administrative change in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The person, or `kvo` for the command line on the server.
    pub actor: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

/// `GET /api/v1/areas/{id}/audit-log`: newest first; `next` continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administration_is_the_beheerders_alone() {
        for &role in Role::ALL {
            for &action in AdminAction::ALL {
                assert_eq!(may(role, action), role == Role::Beheerder, "{role:?} {action:?}");
            }
        }
        // Every action has a row.
        assert!(AdminAction::ALL.iter().all(|a| PERMISSIONS.iter().any(|(x, _)| x == a)));
    }

    #[test]
    fn a_phone_invite_never_makes_a_beheerder() {
        assert!(!grantable(Role::Beheerder, Grant::Invite));
        assert!(grantable(Role::Beheerder, Grant::Account));
        for &r in Role::ALL.iter().filter(|r| **r != Role::Beheerder) {
            assert!(grantable(r, Grant::Invite) && grantable(r, Grant::Account), "{r:?}");
        }
    }
}
