//! Running an area (issue 15, docs/administration.md): areas and zones,
//! categories, invites, members, devices and web accounts, every change
//! checked against the one permission table (`kvo_api::admin::PERMISSIONS`)
//! and written to the append-only audit log in the same transaction.
//!
//! Every operation takes a [`Who`]: a signed-in person, whose role in the
//! area is checked here (not in the handler, so that no caller can forget),
//! or the `kvo` tool on the server, which may do everything.

pub mod areas;
pub mod audit;
pub mod categories;
pub mod open311;
pub mod people;
pub mod privacy;
pub mod registers;

use kvo_api::{
    Role,
    admin::{AdminAction, Grant, may},
};
use std::sync::LazyLock;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    areas::{AreaCache, shape::ShapeProblem},
    auth::{AuthCache, Principal},
    error::{Error, module_error},
};

/// Who asks for an administrative change.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A signed-in person; their role in the area decides.
    Person(&'a Principal),
    /// The `kvo` tool (or the demo) on the server itself.
    Server,
}

/// The author of a change, as the audit log records it.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub person_id: Option<Uuid>,
}

impl Who<'_> {
    /// May this one do `action` in `area_id`? A person without a membership
    /// there gets 404, as everywhere (isolation), one with the wrong role 403.
    pub fn check(&self, area_id: Uuid, action: AdminAction) -> Result<Actor, AdminError> {
        match self {
            Who::Server => Ok(Actor { person_id: None }),
            Who::Person(p) => {
                let access = p.access(area_id)?;
                if may(access.role, action) {
                    Ok(Actor { person_id: Some(p.person_id) })
                } else {
                    Err(AdminError::Forbidden(action))
                }
            }
        }
    }

    /// A new area may be created by whoever is beheerder somewhere.
    fn check_create_area(&self) -> Result<Actor, AdminError> {
        match self {
            Who::Server => Ok(Actor { person_id: None }),
            Who::Person(p) if p.areas().any(|a| may(a.role, AdminAction::EditArea)) => {
                Ok(Actor { person_id: Some(p.person_id) })
            }
            Who::Person(_) => Err(AdminError::Forbidden(AdminAction::EditArea)),
        }
    }
}

/// Why an administrative change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The role does not allow this action in this area (403).
    #[error("the role may not {0:?}")]
    Forbidden(AdminAction),
    /// This role cannot be handed out this way (403).
    #[error("role {0} cannot be granted by {1:?}")]
    NotGrantable(Role, Grant),
    /// A drawn or uploaded shape is wrong (422).
    #[error("{field}: {problem}")]
    Shape { field: &'static str, problem: ShapeProblem },
    /// The area is archived: nothing new (409).
    #[error("the area is archived")]
    Archived,
    /// Another zone of the area has this name (409).
    #[error("zone name `{0}` is taken")]
    ZoneNameTaken(String),
    /// The area has no category with this code (404).
    #[error("category `{0}` does not exist in this area")]
    UnknownCategory(String),
    /// The area already has a category with this code (409).
    #[error("category `{0}` exists")]
    CategoryExists(String),
    /// The change would leave the area without a beheerder (409).
    #[error("the last beheerder of an area cannot be removed or demoted")]
    LastBeheerder,
    /// The person is already a member of the area (409).
    #[error("already a member")]
    AlreadyMember,
    /// An uploaded register or street file is wrong (422).
    #[error("import: {0}")]
    Import(#[from] kvo_api::registers::ImportProblem),
    /// A password link that is unknown, used or expired (422).
    #[error("password link unknown, used or expired")]
    PasswordLink,
    #[error(transparent)]
    Other(#[from] Error),
}

module_error!(AdminError);

impl AdminError {
    fn shape(field: &'static str) -> impl FnOnce(ShapeProblem) -> AdminError {
        move |problem| AdminError::Shape { field, problem }
    }
}

/// How long a text field may be.
#[derive(Debug, Clone, Copy)]
enum Length {
    /// Names of areas, zones, municipalities and people: 1–200 characters.
    Name,
    /// A category's label: 1–80 characters.
    Label,
}

/// A text field trimmed, 1 to its length in characters, without NUL.
fn text(raw: &str, field: &'static str, length: Length) -> Result<String, AdminError> {
    let (max, en, nl) = match length {
        Length::Name => (200, "must have 1 to 200 characters", "moet 1 tot 200 tekens hebben"),
        Length::Label => (80, "must have 1 to 80 characters", "moet 1 tot 80 tekens hebben"),
    };
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.contains('\0') {
        return Err(out_of_range(field, en, nl));
    }
    Ok(t.to_string())
}

/// A value out of its range, as a validation error naming its field.
fn out_of_range(field: &'static str, reason: &'static str, reason_nl: &'static str) -> AdminError {
    kvo_api::ValidationError::Other { field, reason, reason_nl }.into()
}

/// What every administrative operation needs: the database, the caches a
/// change must refresh, who asks, and the public address for links.
pub struct Admin<'a> {
    pub pool: &'a PgPool,
    pub areas: &'a AreaCache,
    pub auth: &'a AuthCache,
    pub who: Who<'a>,
    /// The server's public URL, for invite and password links.
    pub base_url: &'a str,
}

static SERVER_AREAS: LazyLock<AreaCache> = LazyLock::new(AreaCache::default);
static SERVER_AUTH: LazyLock<AuthCache> = LazyLock::new(AuthCache::default);

impl<'a> Admin<'a> {
    /// Administration by the server itself (the `kvo` tool, the demo, the
    /// benchmarks): every action allowed, logged with `kvo` as its author.
    /// Its caches are its own; a running server sees the change within the
    /// caches' time to live.
    pub fn server(pool: &'a PgPool, base_url: &'a str) -> Admin<'a> {
        Admin { pool, areas: &SERVER_AREAS, auth: &SERVER_AUTH, who: Who::Server, base_url }
    }
}

impl Admin<'_> {
    /// After a change of memberships or tokens, no cached credential may keep
    /// its old powers: forget them all (administration is rare; each
    /// credential is read afresh on its next request).
    fn forget_credentials(&self) {
        self.auth.forget_all();
    }
}

/// Shortcuts for the server's own tools (the demo, the benchmarks, the
/// tests), which hold shapes as `geo` polygons: the same operations, as `kvo`.
pub mod on_server {
    use geo::MultiPolygon;
    use kvo_api::{
        Role,
        admin::{NewArea, NewInviteRequest, NewZone},
        wire::AreaKind,
    };
    use sqlx::PgPool;
    use uuid::Uuid;

    use super::{Admin, AdminError};
    use crate::areas::shape::to_value;

    /// Creates an area with the default categories; returns its id.
    pub async fn area(
        pool: &PgPool,
        name: &str,
        kind: AreaKind,
        municipality: Option<&str>,
        boundary: &MultiPolygon<f64>,
    ) -> Result<Uuid, AdminError> {
        let req = NewArea {
            name: name.into(),
            kind,
            municipality: municipality.map(Into::into),
            boundary: to_value(boundary),
        };
        Ok(Admin::server(pool, "").create_area(req).await?.id)
    }

    /// Draws a zone; returns its id.
    pub async fn zone(
        pool: &PgPool,
        area_id: Uuid,
        name: &str,
        geom: &MultiPolygon<f64>,
    ) -> Result<Uuid, AdminError> {
        let req = NewZone { name: name.into(), geometry: to_value(geom) };
        Ok(Admin::server(pool, "").add_zone(area_id, req).await?.id)
    }

    /// An invite code for `role`, valid for one phone for a day.
    pub async fn invite(pool: &PgPool, area_id: Uuid, role: Role) -> Result<String, AdminError> {
        let req = NewInviteRequest { role, uses: 1, days: 1 };
        Ok(Admin::server(pool, "").create_invite(area_id, req).await?.code)
    }
}
