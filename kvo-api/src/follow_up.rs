//! The follow-up of an incident: who may do what, in one table
//! ([`PERMISSIONS`], also in `docs/follow-up.md`), and which status each
//! action leads to. The server enforces it; the apps use it to offer only
//! what a person may do.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Role, status::IncidentStatus};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A partner organisation an incident can be assigned to.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Organisation {
    Gemeente,
    Politie,
    Brandweer,
    Beveiliger,
}

crate::coded!(Organisation);

impl Organisation {
    /// The organisation a role acts for, if any.
    pub fn of(role: Role) -> Option<Organisation> {
        match role {
            Role::Gemeente => Some(Organisation::Gemeente),
            Role::Politie => Some(Organisation::Politie),
            Role::Brandweer => Some(Organisation::Brandweer),
            Role::Beveiliger => Some(Organisation::Beveiliger),
            Role::Ondernemer | Role::Werkgroep | Role::Beheerder => None,
        }
    }

    /// The role a member acting for this organisation holds.
    pub fn role(self) -> Role {
        match self {
            Organisation::Gemeente => Role::Gemeente,
            Organisation::Politie => Role::Politie,
            Organisation::Brandweer => Role::Brandweer,
            Organisation::Beveiliger => Role::Beveiliger,
        }
    }
}

/// Something a person does with an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// nieuw or heropend → in behandeling
    TakeInHand,
    /// nieuw, in behandeling or heropend → opgelost
    Resolve,
    /// nieuw, in behandeling or heropend → afgewezen
    Reject,
    /// opgelost or afgewezen → heropend
    Reopen,
    /// Assign to a partner organisation, with an optional due date.
    Assign,
    Comment,
    /// Merge this report, a duplicate, into another one.
    Merge,
    /// Record whether a police report (aangifte) was filed.
    Aangifte,
    /// Record the damage in euros.
    Damage,
    /// The assigned organisation gives the report back to the werkgroep,
    /// with a note (not ours, needs more information).
    HandBack,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::TakeInHand,
        Action::Resolve,
        Action::Reject,
        Action::Reopen,
        Action::Assign,
        Action::Comment,
        Action::Merge,
        Action::Aangifte,
        Action::Damage,
        Action::HandBack,
    ];

    /// The status this action leads to from `from`: `Ok(None)` for an action
    /// that leaves the status alone, `Err(())` when it cannot be done from `from`.
    #[allow(clippy::result_unit_err)]
    pub fn transition(self, from: IncidentStatus) -> Result<Option<IncidentStatus>, ()> {
        use IncidentStatus::*;
        let open = matches!(from, Nieuw | InBehandeling | Heropend);
        match self {
            Action::TakeInHand if matches!(from, Nieuw | Heropend) => Ok(Some(InBehandeling)),
            Action::Resolve if open => Ok(Some(Opgelost)),
            Action::Reject if open => Ok(Some(Afgewezen)),
            Action::Reopen if matches!(from, Opgelost | Afgewezen) => Ok(Some(Heropend)),
            Action::Assign | Action::Merge | Action::HandBack if open => Ok(None),
            Action::Comment | Action::Aangifte | Action::Damage => Ok(None),
            _ => Err(()),
        }
    }

    /// Dutch and English, for messages.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Action::TakeInHand => ("in behandeling nemen", "take in hand"),
            Action::Resolve => ("afhandelen als opgelost", "resolve"),
            Action::Reject => ("afwijzen", "reject"),
            Action::Reopen => ("heropenen", "reopen"),
            Action::Assign => ("toewijzen", "assign"),
            Action::Comment => ("reageren", "comment"),
            Action::Merge => ("samenvoegen", "merge"),
            Action::Aangifte => ("aangifte vastleggen", "record the police report"),
            Action::Damage => ("schade vastleggen", "record the damage"),
            Action::HandBack => ("teruggeven aan de werkgroep", "hand back to the werkgroep"),
        }
    }
}

/// Who, relative to the incident, a role's permission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Nobody in this role.
    No,
    /// The person who reported it.
    Own,
    /// Members of the organisation it is assigned to.
    Assigned,
    /// The reporter, or the organisation it is assigned to.
    OwnOrAssigned,
    /// Everyone in this role.
    Yes,
}

/// How the acting person relates to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    /// They reported it.
    pub reporter: bool,
    /// It is assigned to the organisation their role acts for.
    pub assigned: bool,
}

use Grant::{Assigned as A, No as N, Own as O, OwnOrAssigned as OA, Yes as Y};

/// The permission table: per action, the grant of each role in the order of
/// [`Role::ALL`]: ondernemer, beveiliger, werkgroep, gemeente, politie,
/// brandweer, beheerder. `docs/follow-up.md` shows the same table (a test
/// keeps them equal).
pub const PERMISSIONS: [(Action, [Grant; 7]); 10] = [
    (Action::TakeInHand, [N, A, Y, A, A, A, N]),
    (Action::Resolve, [O, OA, Y, OA, OA, OA, N]),
    (Action::Reject, [N, N, Y, N, N, N, N]),
    (Action::Reopen, [O, O, Y, O, O, O, N]),
    (Action::Assign, [N, N, Y, N, N, N, N]),
    (Action::Comment, [O, Y, Y, Y, Y, Y, Y]),
    (Action::Merge, [N, N, Y, N, N, N, N]),
    (Action::Aangifte, [O, O, Y, O, Y, O, N]),
    (Action::Damage, [O, O, Y, O, O, O, N]),
    (Action::HandBack, [N, A, N, A, A, A, N]),
];

/// The grant of `role` for `action`.
pub fn grant(role: Role, action: Action) -> Grant {
    let column = Role::ALL.iter().position(|r| *r == role).expect("every role has a column");
    PERMISSIONS.iter().find(|(a, _)| *a == action).map_or(Grant::No, |(_, g)| g[column])
}

/// Whether `role`, related to the incident as `rel`, may do `action`.
pub fn allowed(role: Role, rel: Relation, action: Action) -> bool {
    match grant(role, action) {
        Grant::No => false,
        Grant::Own => rel.reporter,
        Grant::Assigned => rel.assigned,
        Grant::OwnOrAssigned => rel.reporter || rel.assigned,
        Grant::Yes => true,
    }
}

/// The actions `role` may take now, on an incident in status `status`.
pub fn available(role: Role, rel: Relation, status: IncidentStatus, merged: bool) -> Vec<Action> {
    if merged {
        return if allowed(role, rel, Action::Comment) { vec![Action::Comment] } else { vec![] };
    }
    Action::ALL.into_iter().filter(|a| allowed(role, rel, *a) && a.transition(status).is_ok()).collect()
}

/// Why a follow-up text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Longer than the field allows, in characters.
    TooLong { max: usize },
    /// Control characters other than newline and tab.
    ControlCharacters,
}

/// A follow-up text (reason, comment) as it is stored: trimmed, `None` when
/// empty, at most `max` characters, no control characters but newline and tab.
pub fn clean_text(raw: Option<&str>, max: usize) -> Result<Option<String>, TextProblem> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > max {
        return Err(TextProblem::TooLong { max });
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(TextProblem::ControlCharacters);
    }
    Ok(Some(t.to_string()))
}

/// The damage in whole cents, if `eur` is an amount from 0 to a billion
/// euros with at most two decimals.
pub fn damage_cents(eur: f64) -> Option<i64> {
    let cents = (eur * 100.0).round();
    (eur.is_finite() && (0.0..=1e9).contains(&eur) && (eur * 100.0 - cents).abs() <= 1e-6)
        .then_some(cents as i64)
}

/// `POST /api/v1/incidents/{id}/status`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: IncidentStatus,
    /// Why (shown in the history); at most 1,000 characters.
    pub reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/assignment`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub organisation: Organisation,
    pub due_date: Option<NaiveDate>,
    pub reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/hand-back`: the assigned organisation gives
/// the report back to the werkgroep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandBack {
    /// Why (1 to 1,000 characters): not ours, needs more information, …
    pub reason: String,
}

/// One report on a partner's work list ("aan ons toegewezen").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WorkItem {
    pub incident_id: Uuid,
    pub area_id: Uuid,
    pub area_name: String,
    pub category: String,
    pub category_nl: String,
    pub category_en: String,
    pub urgent: bool,
    pub status: IncidentStatus,
    pub occurred_at: DateTime<Utc>,
    pub zone_name: Option<String>,
    pub description: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub assigned_to: Organisation,
    pub due_date: Option<NaiveDate>,
    /// The due date has passed (Dutch calendar).
    pub overdue: bool,
    /// What the person may do with it now.
    pub actions: Vec<Action>,
}

/// `GET /api/v1/work-list`: the open reports assigned to the person's
/// organisation in all their areas, overdue first, then urgent, then by due
/// date (none last), then oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WorkList {
    pub today: NaiveDate,
    pub items: Vec<WorkItem>,
}

/// `POST /api/v1/incidents/{id}/comments`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 2,000 characters.
    pub body: String,
}

/// `PATCH /api/v1/incidents/{id}/facts`: fields left out stay as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Whether a police report (aangifte) was filed.
    pub aangifte: Option<bool>,
    /// The damage in euros (at most two decimals), 0 to 1,000,000,000.
    pub damage_eur: Option<f64>,
}

/// `POST /api/v1/incidents/{id}/merge`: this report is a duplicate of `into`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Merge {
    pub into: Uuid,
    pub reason: Option<String>,
}

/// One line of an incident's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HistoryEntry {
    /// `status`, `assign`, `hand_back`, `aangifte`, `damage`, `merge`, or `open311` (forwarded to the gemeente, its status).
    pub action: String,
    /// The status after this entry.
    pub status: IncidentStatus,
    /// Who, by display name (absent when the person was removed).
    pub by: Option<String>,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    /// What was set: the organisation and due date, `ja`/`nee`, an amount, the other report.
    pub detail: Option<String>,
}

/// A comment on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Comment {
    pub id: Uuid,
    pub author: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Where an incident stands in its follow-up, and what the caller may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FollowUp {
    pub incident_id: Uuid,
    pub status: IncidentStatus,
    pub assigned_to: Option<Organisation>,
    pub due_date: Option<NaiveDate>,
    pub aangifte: bool,
    pub damage_eur: Option<f64>,
    /// The report this one was merged into (then it no longer counts).
    pub merged_into: Option<Uuid>,
    /// Oldest first.
    pub history: Vec<HistoryEntry>,
    /// Oldest first.
    pub comments: Vec<Comment>,
    /// What the caller may do now.
    pub allowed: Vec<Action>,
}

/// An open report of the same category nearby: "this was already reported".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PossibleDuplicate {
    pub id: Uuid,
    pub category: String,
    pub occurred_at: DateTime<Utc>,
    pub status: IncidentStatus,
    pub distance_m: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(clean_text(Some("  ja \n"), 5), Ok(Some("ja".into())));
        assert_eq!(clean_text(Some("   "), 5), Ok(None));
        assert_eq!(clean_text(None, 5), Ok(None));
        assert_eq!(clean_text(Some("zes tk"), 5), Err(TextProblem::TooLong { max: 5 }));
        assert_eq!(clean_text(Some("ééééé"), 5), Ok(Some("ééééé".into())), "characters, not bytes");
        assert_eq!(clean_text(Some("a\u{7}b"), 5), Err(TextProblem::ControlCharacters));
        assert_eq!(clean_text(Some("a\nb\tc"), 5), Ok(Some("a\nb\tc".into())));
    }

    #[test]
    fn damage_is_whole_cents_from_zero_to_a_billion() {
        assert_eq!(damage_cents(0.0), Some(0));
        assert_eq!(damage_cents(12.34), Some(1234));
        assert_eq!(damage_cents(1e9), Some(100_000_000_000));
        for bad in [-0.01, 12.345, 1e9 + 1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(damage_cents(bad), None, "{bad}");
        }
    }

    fn rel(reporter: bool, assigned: bool) -> Relation {
        Relation { reporter, assigned }
    }

    #[test]
    fn the_rules_of_the_issue_hold() {
        // An ondernemer cannot close another's report, but may close their own.
        assert!(!allowed(Role::Ondernemer, rel(false, false), Action::Resolve));
        assert!(allowed(Role::Ondernemer, rel(true, false), Action::Resolve));
        // An assigned partner may take it in hand and resolve it; an unassigned one may not.
        for role in [Role::Gemeente, Role::Politie, Role::Brandweer, Role::Beveiliger] {
            for action in [Action::TakeInHand, Action::Resolve] {
                assert!(allowed(role, rel(false, true), action), "{role} {action:?}");
                assert!(!allowed(role, rel(false, false), action), "{role} {action:?}");
            }
        }
        // The werkgroep may assign, reject, reopen and merge; nobody else may assign, reject or merge.
        for action in [Action::Assign, Action::Reject, Action::Reopen, Action::Merge] {
            assert!(allowed(Role::Werkgroep, rel(false, false), action));
        }
        for role in Role::ALL.iter().copied().filter(|r| *r != Role::Werkgroep) {
            for action in [Action::Assign, Action::Reject, Action::Merge] {
                assert!(!allowed(role, rel(true, true), action), "{role} {action:?}");
            }
        }
    }

    #[test]
    fn transitions_follow_the_workflow() {
        use IncidentStatus::*;
        let to = |a: Action, from| a.transition(from);
        assert_eq!(to(Action::TakeInHand, Nieuw), Ok(Some(InBehandeling)));
        assert_eq!(to(Action::TakeInHand, Heropend), Ok(Some(InBehandeling)));
        assert_eq!(to(Action::TakeInHand, Opgelost), Err(()));
        for from in [Nieuw, InBehandeling, Heropend] {
            assert_eq!(to(Action::Resolve, from), Ok(Some(Opgelost)));
            assert_eq!(to(Action::Reject, from), Ok(Some(Afgewezen)));
            assert_eq!(to(Action::Reopen, from), Err(()));
        }
        for from in [Opgelost, Afgewezen] {
            assert_eq!(to(Action::Reopen, from), Ok(Some(Heropend)));
            assert_eq!(to(Action::Resolve, from), Err(()));
            assert_eq!(to(Action::Assign, from), Err(()));
            assert_eq!(to(Action::Comment, from), Ok(None));
        }
    }

    /// The table in docs/follow-up.md is this table.
    #[test]
    fn the_docs_show_the_table_in_the_code() {
        let docs = include_str!("../../docs/follow-up.md");
        let cell = |g: Grant| match g {
            Grant::No => "–",
            Grant::Own => "own",
            Grant::Assigned => "assigned",
            Grant::OwnOrAssigned => "own, assigned",
            Grant::Yes => "yes",
        };
        for (action, grants) in PERMISSIONS {
            let code = serde_json::to_string(&action).unwrap();
            let row = format!(
                "| `{}` | {} |",
                code.trim_matches('"'),
                grants.iter().map(|g| cell(*g)).collect::<Vec<_>>().join(" | ")
            );
            assert!(docs.contains(&row), "docs/follow-up.md lacks the row\n{row}");
        }
    }
}
