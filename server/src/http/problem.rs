//! The one table from errors to RFC 9457 problem documents: status, type,
//! title and detail in Dutch and English, for every domain [`Error`] and for
//! the request's own faults ([`AppError`]).
//!
//! A handler returns `Result<_, AppError>`. `AppError::into_response` puts
//! both language versions of the problem into a response extension; the
//! [`render_problems`] middleware then writes the one the client asked for
//! (`Accept-Language`, Dutch by default). Responses the framework makes on its
//! own (unknown route, wrong method, time-out, body too large) are turned into
//! problems there too, so no client ever sees a bare text error.

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use kvo_api::{
    ValidationError,
    rounds::{AgreementProblem, MAX_ROUNDS},
    wire::Problem,
};

use crate::{
    admin::AdminError, analytics::AnalyticsError, auth::AuthError, error::Error, follow_up::FollowUpError,
    incidents::IncidentError, patrols::PatrolError, photos::PhotoError, push::PushError,
    registers::RegisterError,
};

/// Every way an API request can fail: a domain error, or a request that
/// could not even be read.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Patrol(#[from] PatrolError),
    #[error(transparent)]
    FollowUp(#[from] FollowUpError),
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// A `Content-Digest` header that is not `sha-256=:<base64 of 32 bytes>:`.
    #[error("Content-Digest header unreadable")]
    ContentDigest,
    #[error("malformed JSON: {0}")]
    BadJson(String),
    #[error("text with the NUL character")]
    NulInText,
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{field}`: {msg}")]
    BadValue { field: String, msg: String },
    #[error("query: {0}")]
    BadQuery(String),
    #[error("not JSON")]
    NotJson,
    #[error("body unreadable")]
    BodyUnreadable,
    #[error("CSRF header missing")]
    CsrfMissing,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("bad request")]
    BadRequest,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("request took too long")]
    Timeout,
    /// Over an abuse limit: wait this many seconds (429 with `Retry-After`).
    #[error("too many requests; retry after {0} s")]
    TooManyRequests(u64),
    /// `/readyz`: migrations are still to be applied.
    #[error("migrations pending")]
    MigrationsPending,
    /// `/readyz`: the database does not answer.
    #[error("database unreachable")]
    DatabaseUnreachable,
}

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Domain(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Domain(Error::Internal(e))
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::Domain(Error::Validation(e))
    }
}

/// The two language versions of one problem, carried to [`render_problems`].
#[derive(Clone, Debug)]
pub struct ProblemText {
    pub nl: Problem,
    pub en: Problem,
}

/// One row of the table.
struct Texts {
    status: StatusCode,
    slug: &'static str,
    title: (&'static str, &'static str),
    detail: (String, String),
    field: Option<String>,
    /// The spot (lon, lat) the problem is about.
    at: Option<[f64; 2]>,
}

fn row(
    status: StatusCode,
    slug: &'static str,
    title: (&'static str, &'static str),
    nl: impl Into<String>,
    en: impl Into<String>,
) -> Texts {
    Texts { status, slug, title, detail: (nl.into(), en.into()), field: None, at: None }
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const BAD_TITLE: (&str, &str) = ("Ongeldig verzoek", "Bad request");

/// 400: the request cannot be read as the OpenAPI document describes it
/// (not JSON, a wrong type, an unknown field, an unparsable parameter or
/// header), or a photo's bytes do not match their digest.
fn bad(nl: impl Into<String>, en: impl Into<String>) -> Texts {
    row(BAD, "bad-request", BAD_TITLE, nl, en)
}

/// 422: the request reads fine, but a value or a combination of values
/// breaks a rule (a period that ends before it starts, an unknown code, a due
/// date in the past), as for the domain's `ValidationError`s.
fn invalid(nl: impl Into<String>, en: impl Into<String>) -> Texts {
    row(StatusCode::UNPROCESSABLE_ENTITY, "invalid-value", ("Ongeldige invoer", "Invalid input"), nl, en)
}

impl Texts {
    fn field(self, field: impl Into<String>) -> Texts {
        Texts { field: Some(field.into()), ..self }
    }
}

fn conflict(nl: impl Into<String>, en: impl Into<String>) -> Texts {
    row(StatusCode::CONFLICT, "conflict", ("Conflict", "Conflict"), nl, en)
}

fn denied(nl: &str, en: &str) -> Texts {
    row(
        StatusCode::FORBIDDEN,
        "forbidden",
        ("Niet toegestaan", "Forbidden"),
        format!("Uw rol staat dit niet toe ({nl})."),
        format!("Your role does not allow this ({en})."),
    )
}

fn auth(e: &AuthError) -> Texts {
    match e {
        AuthError::InviteCode => invalid(
            "Deze uitnodigingscode is onbekend, verlopen of al gebruikt.",
            "This invite code is unknown, expired or used up.",
        )
        .field("code"),
        AuthError::Credentials => row(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            ("Niet aangemeld", "Not signed in"),
            "E-mailadres of wachtwoord onjuist.",
            "Wrong e-mail address or password.",
        ),
        AuthError::Throttled(secs) => row(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-sign-ins",
            ("Te veel pogingen", "Too many attempts"),
            format!("Te veel mislukte pogingen om in te loggen; probeer het over {secs} seconden opnieuw."),
            format!("Too many failed sign-ins; try again in {secs} seconds."),
        ),
        AuthError::Other(e) => domain(e),
    }
}

fn incident(e: &IncidentError) -> Texts {
    match e {
        IncidentError::IdTaken(_) => conflict(
            "Er bestaat al een melding met dit id, met andere gegevens.",
            "An incident with this id already exists, with different data.",
        ),
        IncidentError::Bbox => {
            bad("bbox moet minLon,minLat,maxLon,maxLat zijn", "bbox must be minLon,minLat,maxLon,maxLat")
                .field("bbox")
        }
        IncidentError::BboxRange => invalid(
            "bbox: lengtes tussen -180 en 180, breedtes tussen -90 en 90, het minimum niet boven het maximum",
            "bbox: longitudes from -180 to 180, latitudes from -90 to 90, the minimum not above the maximum",
        )
        .field("bbox"),
        IncidentError::Cursor => invalid("ongeldige cursor", "invalid cursor").field("cursor"),
        IncidentError::Limit(_) => {
            invalid("limit moet tussen 1 en 500 liggen", "limit must be between 1 and 500").field("limit")
        }
        IncidentError::Other(e) => domain(e),
    }
}

fn photo(e: &PhotoError) -> Texts {
    match e {
        PhotoError::DigestMismatch => bad(
            "de foto is onderweg beschadigd (de SHA-256 klopt niet); er is niets opgeslagen, stuur hem opnieuw",
            "the photo was damaged in transit (its SHA-256 does not match); nothing was stored, send it again",
        )
        .field("Content-Digest"),
        PhotoError::IdTaken(_) => conflict(
            "Er bestaat al een foto met dit id, met een andere inhoud.",
            "A photo with this id already exists, with different content.",
        ),
        PhotoError::Unsupported => row(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            ("Bestandstype niet ondersteund", "Unsupported media type"),
            "Alleen JPEG, PNG en WebP worden geaccepteerd (beoordeeld op de inhoud).",
            "Only JPEG, PNG and WebP are accepted (judged by content).",
        ),
        PhotoError::TooLarge { megapixels } => row(
            StatusCode::UNPROCESSABLE_ENTITY,
            "image-too-large",
            ("Afbeelding te groot", "Image too large"),
            format!("De afbeelding heeft {megapixels:.1} megapixel; hoogstens 40 is toegestaan."),
            format!("The image has {megapixels:.1} megapixels; at most 40 are allowed."),
        ),
        PhotoError::Corrupt => row(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-image",
            ("Afbeelding onleesbaar", "Image unreadable"),
            "De afbeelding is beschadigd of onvolledig.",
            "The image is corrupt or truncated.",
        ),
        PhotoError::Other(e) => domain(e),
    }
}

fn patrol(e: &PatrolError) -> Texts {
    match e {
        PatrolError::NotAGuard => denied("alleen beveiligers lopen surveillancerondes", "only guards patrol"),
        PatrolError::IdTaken(_) => conflict(
            "Er bestaat al een surveillanceronde met dit id.",
            "A patrol with this id already exists.",
        ),
        PatrolError::Ended(_) => {
            conflict("Deze surveillanceronde is al beëindigd.", "This patrol has already ended.")
        }
        PatrolError::TooManyPoints { max, .. } => invalid(
            format!("hoogstens {max} punten per verzoek"),
            format!("at most {max} points per request"),
        )
        .field("points"),
        PatrolError::NotBeheerder => denied(
            "alleen de beheerder richt controlepunten en rondes in",
            "only the beheerder sets up checkpoints and rounds",
        ),
        PatrolError::RoundsHidden => denied(
            "rondes en routes zijn niet zichtbaar voor ondernemers",
            "rounds and routes are not shown to ondernemers",
        ),
        PatrolError::ScanIdTaken(_) => conflict(
            "Er bestaat al een scan met dit id, met andere gegevens.",
            "A scan with this id already exists, with different data.",
        ),
        PatrolError::UnknownTag(tag) => invalid(
            format!("geen controlepunt heeft de code `{tag}`; scan de code op de kaart bij het controlepunt"),
            format!("no checkpoint has the tag `{tag}`; scan the code on the card at the checkpoint"),
        )
        .field("tag"),
        PatrolError::TagOtherArea(tag) => invalid(
            format!("de code `{tag}` hoort bij een controlepunt van een ander gebied"),
            format!("the tag `{tag}` belongs to a checkpoint of another area"),
        )
        .field("tag"),
        PatrolError::CheckpointArchived(name) => invalid(
            format!("controlepunt ‘{name}’ is opgeheven en neemt geen scans meer aan"),
            format!("checkpoint ‘{name}’ has been archived and takes no more scans"),
        )
        .field("tag"),
        PatrolError::UnknownPatrol(_) => invalid(
            "deze surveillanceronde bestaat niet, of is niet van u",
            "this patrol does not exist, or is not yours",
        )
        .field("patrol_id"),
        PatrolError::UnknownCheckpoint(id) => invalid(
            format!("controlepunt {id} bestaat niet (meer) in dit gebied"),
            format!("checkpoint {id} does not exist (any more) in this area"),
        )
        .field("checkpoints"),
        PatrolError::Agreement(a) => agreement(a),
        PatrolError::Overlaps(name) => conflict(
            format!("het venster overlapt met de afspraak ‘{name}’; een tijdstip hoort bij één afspraak"),
            format!("the window overlaps the agreement ‘{name}’; a moment belongs to one agreement"),
        )
        .field("window_start"),
        PatrolError::Period { from, to, max } => invalid(
            format!("de periode {from} – {to} is leeg of langer dan {max} nachten"),
            format!("the period {from} – {to} is empty or longer than {max} nights"),
        )
        .field("from"),
        PatrolError::Other(e) => domain(e),
    }
}

fn admin(e: &AdminError) -> Texts {
    use kvo_api::admin::{AdminAction::*, Grant};
    match e {
        AdminError::Forbidden(action) => {
            let (nl, en) = match action {
                EditArea => ("alleen de beheerder richt gebieden in", "only the beheerder sets up areas"),
                EditZones => ("alleen de beheerder tekent zones", "only the beheerder draws zones"),
                EditCategories => ("alleen de beheerder stelt categorieën in", "only the beheerder sets up categories"),
                Invite => ("alleen de beheerder nodigt mensen uit", "only the beheerder invites people"),
                ManagePeople => ("alleen de beheerder beheert de deelnemers", "only the beheerder manages the members"),
                EditRegisters => ("alleen de beheerder leest registers in", "only the beheerder imports registers"),
                ReadAuditLog => ("alleen de beheerder leest het logboek", "only the beheerder reads the audit log"),
            };
            denied(nl, en)
        }
        AdminError::NotGrantable(role, Grant::Invite) => row(
            StatusCode::FORBIDDEN,
            "forbidden",
            ("Niet toegestaan", "Forbidden"),
            format!(
                "De rol ‘{role}’ wordt niet via een uitnodiging voor de telefoon gegeven; maak een webaccount aan."
            ),
            format!("The role `{role}` is not given through a phone invite; create a web account instead."),
        )
        .field("role"),
        AdminError::NotGrantable(role, Grant::Account) => row(
            StatusCode::FORBIDDEN,
            "forbidden",
            ("Niet toegestaan", "Forbidden"),
            format!("De rol ‘{role}’ kan niet via een webaccount worden gegeven."),
            format!("The role `{role}` cannot be given through a web account."),
        )
        .field("role"),
        AdminError::Shape { field, problem } => {
            let (nl, en) = problem.texts();
            let t = row(StatusCode::UNPROCESSABLE_ENTITY, "invalid-shape", ("Ongeldige vorm", "Invalid shape"), nl, en)
                .field(*field);
            Texts { at: problem.at().map(|(lon, lat)| [lon, lat]), ..t }
        }
        AdminError::Archived => conflict(
            "Dit gebied is gearchiveerd; er kan niets nieuws bij.",
            "This area is archived; nothing new can be added.",
        ),
        AdminError::ZoneNameTaken(name) => conflict(
            format!("Er is in dit gebied al een zone met de naam ‘{name}’."),
            format!("This area already has a zone named ‘{name}’."),
        )
        .field("name"),
        AdminError::UnknownCategory(code) => row(
            StatusCode::NOT_FOUND,
            "not-found",
            ("Niet gevonden", "Not found"),
            format!("Dit gebied heeft geen categorie met de code `{}`.", kvo_api::validate::shown(code)),
            format!("This area has no category with the code `{}`.", kvo_api::validate::shown(code)),
        )
        .field("code"),
        AdminError::CategoryExists(code) => conflict(
            format!("Dit gebied heeft al een categorie met de code `{code}`."),
            format!("This area already has a category with the code `{code}`."),
        )
        .field("code"),
        AdminError::LastBeheerder => conflict(
            "Dit is de laatste beheerder van het gebied; maak eerst iemand anders beheerder.",
            "This is the area's last beheerder; make someone else beheerder first.",
        ),
        AdminError::AlreadyMember => conflict(
            "Deze persoon is al deelnemer van dit gebied; wijzig de rol in de lijst.",
            "This person is already a member of this area; change the role in the list.",
        )
        .field("email"),
        AdminError::PasswordLink => invalid(
            "Deze link is onbekend, verlopen of al gebruikt; vraag de beheerder om een nieuwe.",
            "This link is unknown, expired or already used; ask the beheerder for a new one.",
        )
        .field("token"),
        AdminError::Import(problem) => {
            let (nl, en) = problem.texts();
            row(StatusCode::UNPROCESSABLE_ENTITY, "invalid-file", ("Ongeldig bestand", "Invalid file"), nl, en)
        }
        AdminError::Other(e) => domain(e),
    }
}

fn register(e: &RegisterError) -> Texts {
    match e {
        RegisterError::Forbidden => denied("meldingen per object", "reports per asset"),
        RegisterError::Period(from, to) => invalid(
            format!("de periode {from} – {to} is omgedraaid of langer dan drie jaar"),
            format!("the period {from} – {to} is turned around or longer than three years"),
        )
        .field("from"),
        RegisterError::MinReports(n) => invalid(
            format!("min_reports is {n}; het ligt tussen 2 en 100"),
            format!("min_reports is {n}; it lies between 2 and 100"),
        )
        .field("min_reports"),
        RegisterError::Other(e) => domain(e),
    }
}

fn agreement(a: &AgreementProblem) -> Texts {
    use AgreementProblem::*;
    match a {
        EmptyWindow => invalid("het venster begint en eindigt op hetzelfde tijdstip", "the window starts and ends at the same time")
            .field("window_end"),
        Rounds => invalid(
            format!("het aantal rondes ligt tussen 1 en {MAX_ROUNDS}"),
            format!("the number of rounds lies between 1 and {MAX_ROUNDS}"),
        )
        .field("rounds"),
        Durations => invalid(
            "een ronde duurt 5 tot 720 minuten, de tussentijd 0 tot 720",
            "a round takes 5 to 720 minutes, the gap 0 to 720",
        )
        .field("max_round_minutes"),
        Name => invalid("de naam is leeg of langer dan 100 tekens", "the name is empty or longer than 100 characters")
            .field("name"),
        Checkpoints => invalid(
            "een afspraak gaat langs 1 tot 100 controlepunten, elk één keer",
            "an agreement passes 1 to 100 checkpoints, each once",
        )
        .field("checkpoints"),
        DoesNotFit { rounds, gap, round, needed, window } => invalid(
            format!(
                "{rounds} rondes met {gap} minuten ertussen, de laatste van {round} minuten, vragen {needed} minuten; het venster heeft er {window}"
            ),
            format!(
                "{rounds} rounds {gap} minutes apart, the last taking {round} minutes, need {needed} minutes; the window has {window}"
            ),
        )
        .field("rounds"),
    }
}

fn follow_up(e: &FollowUpError) -> Texts {
    use FollowUpError::*;
    match e {
        NotAllowed(action) => {
            let (nl, en) = action.label();
            denied(nl, en)
        }
        Transition { action, status } => {
            let (nl, en) = action.label();
            conflict(
                format!("Een melding met status ‘{}’ kunt u niet {nl}.", status.label_nl()),
                format!("A report with status `{}` cannot {en}.", status.code()),
            )
        }
        Merged => conflict(
            "Deze melding is samengevoegd met een andere; volg die op.",
            "This report was merged into another; follow that one up.",
        ),
        MergeTargetMerged => conflict(
            "De melding waarmee u wilt samenvoegen is zelf al samengevoegd.",
            "The report to merge into was itself merged into another.",
        ),
        MergeIntoItself => invalid(
            "een melding kan niet met zichzelf worden samengevoegd",
            "a report cannot be merged into itself",
        )
        .field("into"),
        TextTooLong { field, max } => invalid(
            format!("{field} mag hoogstens {max} tekens lang zijn"),
            format!("{field} may be at most {max} characters long"),
        )
        .field(*field),
        ControlCharacters(field) => {
            invalid(format!("{field} bevat stuurtekens"), format!("{field} contains control characters"))
                .field(*field)
        }
        BackToNew => invalid(
            "een melding kan niet terug naar ‘nieuw’; heropen haar",
            "a report cannot go back to `nieuw`; reopen it",
        )
        .field("status"),
        DueDateInPast => {
            invalid("de streefdatum ligt in het verleden", "the due date lies in the past").field("due_date")
        }
        EmptyComment => invalid("een reactie mag niet leeg zijn", "a comment may not be empty").field("body"),
        EmptyReason => {
            invalid("zeg kort waarom u de melding teruggeeft", "say briefly why you hand the report back")
                .field("reason")
        }
        Damage => invalid(
            "de schade is een bedrag in euro's van 0 tot 1 miljard, met hoogstens twee decimalen",
            "the damage is an amount in euros from 0 to 1 billion, with at most two decimals",
        )
        .field("damage_eur"),
        Other(e) => domain(e),
    }
}

fn analytics(e: &AnalyticsError) -> Texts {
    use crate::analytics::tiles::{MAX_ZOOM, POINTS_FROM_ZOOM};
    use AnalyticsError::*;
    match e {
        UnknownCategory { field, code } => invalid(
            format!("onbekende categorie `{code}` in dit gebied"),
            format!("unknown category `{code}` in this area"),
        )
        .field(*field),
        PeriodReversed(f) => invalid("de periode begint na het einde", "the period starts after it ends").field(*f),
        PeriodOutOfRange(f) => {
            invalid("de periode ligt buiten 2000–2099", "the period lies outside 2000–2099").field(*f)
        }
        PeriodTooLong(f) => {
            invalid("de periode is langer dan tien jaar", "the period is longer than ten years").field(*f)
        }
        Resolution(r) => invalid(
            format!("resolutie {r} bestaat niet; kies 7 (grof, ±1,4 km) t/m 11 (fijn, ±25 m)"),
            format!(
                "resolution {r} does not exist; choose 7 (coarse, about 1.4 km) to 11 (fine, about 25 m)"
            ),
        )
        .field("resolution"),
        ResolutionSpan { resolution, years } => invalid(
            format!(
                "resolutie {resolution} kan hoogstens {years} jaar tonen; kies een grovere resolutie of een kortere periode"
            ),
            format!(
                "resolution {resolution} covers at most {years} years; choose a coarser resolution or a shorter period"
            ),
        )
        .field("resolution"),
        HotspotResolution => {
            invalid("kies voor hotspots resolutie 8 t/m 11", "choose resolution 8 to 11 for hotspots").field("resolution")
        }
        BaselineWithoutCompare => invalid(
            "baseline_from en baseline_to horen bij compare=baseline",
            "baseline_from and baseline_to need compare=baseline",
        )
        .field("compare"),
        NoBaseline => invalid(
            "dit gebied heeft geen nul-meting; geef baseline_from en baseline_to op",
            "this area has no baseline (nul-meting); give baseline_from and baseline_to",
        )
        .field("compare"),
        BaselineHalf => invalid("geef zowel baseline_from als baseline_to op", "give both baseline_from and baseline_to")
            .field("baseline_from"),
        BaselineOverlaps => {
            invalid("de vergelijkingsperiode overlapt de periode", "the comparison period overlaps the period")
                .field("baseline_from")
        }
        BaselineTooEarly => {
            invalid("de vergelijkingsperiode ligt voor 2000", "the comparison period lies before 2000").field("from")
        }
        Zoom(z) => invalid(
            format!("zoomniveau {z} bestaat niet; het hoogste is {MAX_ZOOM}"),
            format!("zoom level {z} does not exist; the highest is {MAX_ZOOM}"),
        )
        .field("z"),
        MapZoom => invalid("zoom ligt tussen 0 en 22", "zoom lies between 0 and 22").field("zoom"),
        TileZoom(z) => invalid(
            format!(
                "tegels tonen losse meldingen vanaf zoomniveau {POINTS_FROM_ZOOM}, niet op {z}; de heatmap toont de cellen"
            ),
            format!(
                "tiles show single incidents from zoom level {POINTS_FROM_ZOOM}, not at {z}; the heatmap shows the cells"
            ),
        )
        .field("z"),
        TileOutside => {
            invalid("deze tegel bestaat niet op dit zoomniveau", "this tile does not exist at this zoom level")
                .field("x")
        }
        ExportIncidents => denied("export van losse meldingen", "export of individual incidents"),
        PageSize(_) => invalid("page_size ligt tussen 1 en 200", "page_size lies between 1 and 200").field("page_size"),
        IncidentTiles => denied("kaarttegels met losse meldingen", "map tiles of individual incidents"),
        Other(e) => domain(e),
    }
}

fn push(e: &PushError) -> Texts {
    match e {
        PushError::Endpoint => {
            invalid("endpoint is geen geldige URL", "endpoint is not a valid URL").field("endpoint")
        }
        PushError::Service => invalid(
            "dit is geen pushdienst die deze server kent",
            "this is not a push service this server knows",
        )
        .field("endpoint"),
        PushError::Key => {
            invalid("p256dh is geen P-256-sleutel", "p256dh is not a P-256 key").field("keys.p256dh")
        }
        PushError::Auth => invalid("auth moet 16 bytes zijn", "auth must be 16 bytes").field("keys.auth"),
        PushError::FollowNewReports => denied(
            "alleen wie alle meldingen ziet kan nieuwe meldingen volgen",
            "only roles that see every report can follow new ones",
        ),
        PushError::UnknownCategory(code) => invalid(
            format!("onbekende categorie `{code}` in dit gebied"),
            format!("unknown category `{code}` in this area"),
        )
        .field("new_categories"),
        PushError::Other(e) => domain(e),
    }
}

fn domain(e: &Error) -> Texts {
    match e {
        Error::Validation(v) => Texts {
            field: Some(v.field()),
            ..row(
                StatusCode::UNPROCESSABLE_ENTITY,
                v.code(),
                ("Ongeldige invoer", "Invalid input"),
                v.message_nl(),
                v.message_en(),
            )
        },
        Error::Unauthenticated => row(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            ("Niet aangemeld", "Not signed in"),
            "Meld u aan of gebruik een geldig apparaattoken.",
            "Sign in, or use a valid device token.",
        ),
        Error::NotFound => row(
            StatusCode::NOT_FOUND,
            "not-found",
            ("Niet gevonden", "Not found"),
            "Dit bestaat niet, of u heeft er geen toegang toe.",
            "This does not exist, or you have no access to it.",
        ),
        Error::Unavailable(_) => row(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            ("Tijdelijk niet beschikbaar", "Temporarily unavailable"),
            "De dienst is tijdelijk niet beschikbaar; probeer het later opnieuw.",
            "The service is temporarily unavailable; please try again later.",
        ),
        Error::Internal(_) => row(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            ("Interne fout", "Internal error"),
            "Er ging iets mis aan onze kant. De fout is vastgelegd.",
            "Something went wrong on our side. The error has been logged.",
        ),
    }
}

impl AppError {
    fn texts(&self) -> Texts {
        match self {
            AppError::Domain(e) => domain(e),
            AppError::Auth(e) => auth(e),
            AppError::Incident(e) => incident(e),
            AppError::Photo(e) => photo(e),
            AppError::Patrol(e) => patrol(e),
            AppError::FollowUp(e) => follow_up(e),
            AppError::Analytics(e) => analytics(e),
            AppError::Push(e) => push(e),
            AppError::Admin(e) => admin(e),
            AppError::Register(e) => register(e),
            AppError::ContentDigest => bad(
                "Content-Digest moet sha-256=:<base64>: zijn (RFC 9530)",
                "Content-Digest must be sha-256=:<base64>: (RFC 9530)",
            )
            .field("Content-Digest"),
            AppError::BadJson(msg) => row(
                BAD,
                "malformed-json",
                ("Ongeldige JSON", "Malformed JSON"),
                format!("De JSON in het verzoek kan niet worden gelezen: {msg}"),
                format!("The request's JSON cannot be read: {msg}"),
            ),
            AppError::UnknownField(f) => Texts {
                field: Some(f.clone()),
                ..row(
                    BAD,
                    "unknown-field",
                    ("Onbekend veld", "Unknown field"),
                    format!("Het veld `{f}` is onbekend."),
                    format!("The field `{f}` is not known."),
                )
            },
            AppError::BadValue { field, msg } => Texts {
                field: Some(field.clone()),
                ..bad(
                    format!("Veld `{field}` heeft een ongeldige waarde: {msg}"),
                    format!("Field `{field}` has an invalid value: {msg}"),
                )
            },
            AppError::BadQuery(msg) => {
                bad(format!("Ongeldige zoekparameters: {msg}"), format!("Invalid query parameters: {msg}"))
            }
            AppError::NulInText => invalid(
                "tekst mag het NUL-teken (\\u0000) niet bevatten",
                "text may not contain the NUL character (\\u0000)",
            ),
            AppError::NotJson => bad(
                "Stuur JSON met `Content-Type: application/json`.",
                "Send JSON with `Content-Type: application/json`.",
            ),
            AppError::BodyUnreadable => bad(
                "Het verzoek kon niet volledig worden gelezen.",
                "The request body could not be read completely.",
            ),
            AppError::CsrfMissing => denied("CSRF-header ontbreekt", "CSRF header missing"),
            AppError::MethodNotAllowed => {
                bad("Deze methode is hier niet toegestaan.", "This method is not allowed here.")
            }
            AppError::BadRequest => bad("Het verzoek is ongeldig.", "The request is invalid."),
            AppError::PayloadTooLarge => row(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                ("Te groot", "Payload too large"),
                "Het verzoek is groter dan toegestaan (een foto hoogstens 15 MB).",
                "The request is larger than allowed (a photo at most 15 MB).",
            ),
            AppError::Timeout => row(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                ("Time-out", "Timeout"),
                "Het verzoek duurde te lang; probeer het opnieuw.",
                "The request took too long; please try again.",
            ),
            AppError::TooManyRequests(secs) => row(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                ("Te veel verzoeken", "Too many requests"),
                format!("Even geduld: probeer het over {secs} seconden opnieuw."),
                format!("Please wait: try again in {secs} seconds."),
            ),
            AppError::MigrationsPending => row(
                StatusCode::SERVICE_UNAVAILABLE,
                "migrations-pending",
                ("Niet gereed", "Not ready"),
                "De database heeft nog niet alle migraties; de server past ze toe bij het starten.",
                "migrations pending: the server applies them when it starts",
            ),
            AppError::DatabaseUnreachable => row(
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unreachable",
                ("Niet gereed", "Not ready"),
                "De database is niet bereikbaar.",
                "database unreachable",
            ),
        }
    }

    /// The shared part of a domain error, whichever module raised it.
    fn shared(&self) -> Option<&Error> {
        match self {
            AppError::Domain(e)
            | AppError::Auth(AuthError::Other(e))
            | AppError::Incident(IncidentError::Other(e))
            | AppError::Photo(PhotoError::Other(e))
            | AppError::Patrol(PatrolError::Other(e))
            | AppError::FollowUp(FollowUpError::Other(e))
            | AppError::Analytics(AnalyticsError::Other(e))
            | AppError::Push(PushError::Other(e))
            | AppError::Admin(AdminError::Other(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, decided by the table.
    pub fn status(&self) -> StatusCode {
        self.texts().status
    }

    /// Both language versions of this error's problem document.
    pub fn problem(&self) -> ProblemText {
        let x = self.texts();
        let status = x.status.as_u16();
        let type_ = format!("https://kvo-meldingen.nl/problems/{}", x.slug);
        ProblemText {
            nl: Problem {
                type_: type_.clone(),
                title: x.title.0.into(),
                status,
                detail: x.detail.0,
                field: x.field.clone(),
                at: x.at,
            },
            en: Problem {
                type_,
                title: x.title.1.into(),
                status,
                detail: x.detail.1,
                field: x.field,
                at: x.at,
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self.shared() {
            Some(Error::Internal(e) | Error::Unavailable(e)) => {
                tracing::error!(error = ?e, "request failed");
            }
            _ => tracing::debug!(error = %self, "request rejected"),
        }
        let problem = self.problem();
        let mut res = self.status().into_response();
        if matches!(self.shared(), Some(Error::Unauthenticated)) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let AppError::TooManyRequests(secs) | AppError::Auth(AuthError::Throttled(secs)) = &self {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*secs));
        }
        res.extensions_mut().insert(problem);
        res
    }
}

/// The language a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// Picks Dutch or English from `Accept-Language` by quality; Dutch when
    /// neither is named or the header is absent.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Nl;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag == "nl" || tag.starts_with("nl-") {
                Lang::Nl
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Nl, |(_, l)| l)
    }
}

/// Marks an error response that speaks another protocol's error format
/// (Open311's `<errors>`): [`render_problems`] leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorFormat;

/// Writes every error response as `application/problem+json` in the client's language.
pub async fn render_problems(req: Request, next: Next) -> Response {
    let lang = Lang::from_headers(req.headers());
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.extensions().get::<OwnErrorFormat>().is_some()
    {
        return res;
    }
    let problem = match res.extensions_mut().remove::<ProblemText>() {
        Some(p) => p,
        // The framework's own rejections: give them the same shape.
        None => match status {
            StatusCode::NOT_FOUND => AppError::Domain(Error::NotFound).problem(),
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge.problem(),
            StatusCode::REQUEST_TIMEOUT => AppError::Timeout.problem(),
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed.problem(),
            s if s.is_server_error() => AppError::from(anyhow::anyhow!("status {s}")).problem(),
            _ => AppError::BadRequest.problem(),
        },
    };
    let (mut body, content_language) = match lang {
        Lang::Nl => (problem.nl, "nl"),
        Lang::En => (problem.en, "en"),
    };
    // The status sent wins over the table's (a method not allowed is a 405).
    body.status = status.as_u16();
    let mut out = (status, axum::Json(body)).into_response();
    let headers = out.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(content_language));
    for keep in [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = res.headers().get(&keep) {
            headers.insert(keep, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, v.parse().unwrap());
        Lang::from_headers(&h)
    }

    #[test]
    fn accept_language_picks_by_quality() {
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(lang("nl-NL,en;q=0.5"), Lang::Nl);
        assert_eq!(lang("de,en;q=0.5"), Lang::En);
        assert_eq!(lang("fr"), Lang::Nl);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Nl);
    }

    #[test]
    fn internal_errors_leak_nothing() {
        let p = AppError::from(anyhow::anyhow!("password=hunter2 at db.internal")).problem();
        assert!(!p.en.detail.contains("hunter2"));
        assert_eq!(p.en.status, 500);
    }

    #[test]
    fn a_modules_reason_names_its_field_and_has_both_texts() {
        let p = AppError::from(AnalyticsError::Zoom(30)).problem();
        assert_eq!(p.nl.field.as_deref(), Some("z"));
        assert!(p.nl.detail.contains("zoomniveau 30") && p.en.detail.contains("zoom level 30"));
        assert_eq!(p.en.status, 422, "a value that breaks a rule");
    }
}
