//! The one rule on which incidents a principal may see: in an area where the
//! role sees every report (werkgroep and partners), all of them; elsewhere
//! (an ondernemer, say) only the principal's own. Reading, photos and
//! follow-up all ask here; what cannot be seen is "not found".

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{AreaAccess, Principal},
    error::{Error, Result},
};

/// The rule as SQL bind values: areas where the principal sees everything,
/// and areas where it sees only its own reports.
#[derive(Debug)]
pub struct Visibility {
    pub all: Vec<Uuid>,
    pub own: Vec<Uuid>,
    pub person: Uuid,
}

impl Visibility {
    /// The rule for `p`, in `only_area` (404 if `p` has no access there) or in
    /// all of its areas; `mine` narrows it to the principal's own reports.
    pub fn of(p: &Principal, only_area: Option<Uuid>, mine: bool) -> Result<Visibility> {
        if let Some(a) = only_area {
            p.access(a)?;
        }
        let (mut all, mut own) = (vec![], vec![]);
        for a in p.areas().filter(|a| only_area.is_none_or(|o| o == a.area_id)) {
            if a.role.sees_all_incidents() && !mine {
                all.push(a.area_id);
            } else {
                own.push(a.area_id);
            }
        }
        Ok(Visibility { all, own, person: p.person_id })
    }
}

/// The predicate over `incidents i` with the rule bound at `$1`, `$2`, `$3`
/// by [`bind_visibility!`].
pub const VISIBLE: &str = "(i.area_id = ANY($1) OR (i.area_id = ANY($2) AND i.reporter_id = $3))";

/// Binds a [`Visibility`] at `$1`–`$3` of a query that uses [`VISIBLE`].
macro_rules! bind_visibility {
    ($query:expr, $vis:expr) => {
        $query.bind(&$vis.all).bind(&$vis.own).bind($vis.person)
    };
}
pub(crate) use bind_visibility;

/// The area (with the principal's access to it) of incident `id`, if the
/// principal may see it; 404 otherwise.
pub async fn locate(pool: &PgPool, p: &Principal, id: Uuid) -> Result<AreaAccess> {
    let vis = Visibility::of(p, None, false)?;
    let query = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT i.area_id FROM incidents i WHERE {VISIBLE} AND i.id = $4 LIMIT 1"
    )));
    let area: Option<Uuid> = bind_visibility!(query, vis).bind(id).fetch_optional(pool).await?;
    p.access(area.ok_or(Error::NotFound)?)
}
