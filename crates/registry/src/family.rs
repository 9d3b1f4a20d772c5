//! Family bindings (家属绑定): a family member asks to be bound to an elder registered in the
//! community, and the binding holds only once the elder consents — online on her own 我的
//! page, or in person to staff, who confirm it on the console. Who confirmed, when and how is
//! kept, every step is in the resident's audit trail, and either side may end it.
//!
//! A request answers alike whether or not anyone is registered under the number given, and
//! requests are rate-limited, so the form tells nobody who lives where.

use kernel::community::CommunityId;
use kernel::auth::{Permission, Principal, Role, UserId};
use crate::ResidentId;
use crate::store::Community;
use kernel::audit;
use kernel::crypto::{IdCardNumber, PhoneNumber};
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::Serialize;

/// Confirm a binding the elder agreed to in person, or end one, from the console.
pub const FAMILY_CONFIRM: Permission =
    Permission { name: "registry.family.confirm", roles: &[Role::Staff, Role::Admin, Role::GridWorker] };

/// Binding requests one person may send per day: enough for a family, too few to probe the
/// registry for who is registered.
pub const FAMILY_REQUESTS: kernel::quota::Budget = kernel::quota::Budget { name: "family_request", limit: 10, window_ms: 24 * 3_600_000 };

/// How long a request waits for the elder's answer. The same for every number typed, so the
/// requester's list tells nobody whether anyone is registered under it.
pub const REQUEST_LIFETIME_MS: i64 = 30 * 24 * 3_600_000;

/// What a family member may be to the elder (catalogue `family.relation.<code>`), in the order
/// the form lists them. Older bindings hold free text, which is shown as it was typed.
pub const RELATIONS: [&str; 6] = ["child", "spouse", "grandchild", "sibling", "guardian", "other_relative"];

/// A stored relation in the reader's words: a code from [`RELATIONS`] through the catalogue,
/// an older free-text relation as it was typed.
pub fn relation_words(locale: kernel::i18n::Locale, relation: &str) -> String {
    if RELATIONS.contains(&relation) {
        kernel::i18n::t(locale, &format!("family.relation.{relation}")).to_string()
    } else {
        relation.to_string()
    }
}

fn parse_relation(relation: &str) -> Result<&'static str, kernel::FieldError> {
    let relation = kernel::validate::required("relation", relation, 20)?;
    RELATIONS.into_iter().find(|r| *r == relation).ok_or_else(|| kernel::FieldError::new("relation", "invalid_choice"))
}

/// Whether this login may ask to be someone's family: a person's own login, not a business's
/// (a merchant account) nor an integration's key.
pub fn may_request(p: &Principal) -> bool {
    p.user_id.is_some() && !p.memberships.iter().any(|m| m.role == Role::Merchant)
}

/// Where a binding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Asked for by the family member; grants nothing yet.
    Requested,
    /// Agreed to by the elder.
    Confirmed,
    /// Ended (or declined) by either side or by staff.
    Ended,
}

impl Status {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Confirmed => "confirmed",
            Status::Ended => "ended",
        }
    }
    /// A stored status; one that does not read is an error, never taken as ended.
    fn parse(code: &str) -> AppResult<Status> {
        match code {
            "requested" => Ok(Status::Requested),
            "confirmed" => Ok(Status::Confirmed),
            "ended" => Ok(Status::Ended),
            _ => Err(AppError::internal(format!("stored family link status {code}"))),
        }
    }
}

/// How the elder's consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Said in person to staff, who confirmed it on the console.
    InPerson,
    /// Confirmed by the elder herself, logged in.
    Online,
    /// Recorded in the registry before consent was kept (older bindings).
    Recorded,
}

impl Consent {
    /// Stored code (also the catalogue suffix under `family.how.`).
    pub fn code(self) -> &'static str {
        match self {
            Consent::InPerson => "in_person",
            Consent::Online => "online",
            Consent::Recorded => "recorded",
        }
    }
    /// The code in a person's data download: bindings from before consent was kept say so
    /// (`not_recorded`), as the pages do, rather than the stored `recorded`.
    pub fn export_code(self) -> &'static str {
        match self {
            Consent::Recorded => "not_recorded",
            other => other.code(),
        }
    }
    fn parse(code: &str) -> Option<Consent> {
        [Consent::InPerson, Consent::Online, Consent::Recorded].into_iter().find(|c| c.code() == code)
    }
}

/// A binding between a family member's login and a registered resident.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The family member's user id.
    pub family_user_id: UserId,
    /// The family member's name.
    pub family_name: String,
    /// The family member's phone, masked.
    pub family_phone: String,
    /// The elder's resident id.
    pub resident_id: ResidentId,
    /// The elder's name.
    pub resident_name: String,
    /// What the family member is to the elder (儿子, 女儿 …).
    pub relation: String,
    /// Where it stands.
    pub status: Status,
    /// Asked for at (epoch ms).
    pub requested_at: Option<i64>,
    /// Consent given at (epoch ms).
    pub confirmed_at: Option<i64>,
    /// Who confirmed it (the elder herself, or the staff member).
    pub confirmed_by: Option<String>,
    /// How consent was given.
    pub confirmed_how: Option<Consent>,
}

impl Link {
    /// Catalogue key of how consent was given (`family.how.online` …), or empty.
    pub fn how_key(&self) -> String {
        self.confirmed_how.map(|h| format!("family.how.{}", h.code())).unwrap_or_default()
    }
    /// The relation in the reader's words.
    pub fn relation_in(&self, locale: impl std::borrow::Borrow<kernel::i18n::Locale>) -> String {
        relation_words(*locale.borrow(), &self.relation)
    }
    /// Whether the binding is still waiting for the elder.
    pub fn is_requested(&self) -> bool {
        self.status == Status::Requested
    }
}

/// An elder a family member is bound to (confirmed).
#[derive(Debug, Clone, Serialize)]
pub struct Elder {
    /// Resident id.
    pub resident_id: ResidentId,
    /// Community.
    pub community_id: CommunityId,
    /// Name.
    pub name: String,
    /// The family member's relation to her.
    pub relation: String,
    /// Her own login, if she has one.
    pub user_id: Option<UserId>,
}

/// The columns of `LinkRow`, and the tables they come from.
const LINK_COLUMNS: &str = "f.family_user_id, fu.display_name AS family_name, fu.phone AS family_phone, f.resident_id, r.name AS resident_name, \
     f.relation, f.status, f.requested_at, f.confirmed_at, cu.display_name AS confirmed_by, f.confirmed_how \
     FROM family_links f JOIN users fu ON fu.id = f.family_user_id JOIN residents r ON r.id = f.resident_id \
     LEFT JOIN users cu ON cu.id = f.confirmed_by_user_id";

kernel::row! {
    /// A binding as stored, with both people's names (the columns of `LINK_COLUMNS`).
    struct LinkRow {
        family_user_id: UserId,
        family_name: String,
        family_phone: String,
        resident_id: ResidentId,
        resident_name: String,
        relation: String,
        status: String,
        requested_at: Option<i64>,
        confirmed_at: Option<i64>,
        confirmed_by: Option<String>,
        confirmed_how: Option<String>,
    }
}

fn link_from(r: LinkRow) -> AppResult<Link> {
    let confirmed_how = match r.confirmed_how.as_deref() {
        None => None,
        Some(code) => Some(Consent::parse(code).ok_or_else(|| AppError::internal(format!("stored consent {code}")))?),
    };
    Ok(Link {
        family_user_id: r.family_user_id,
        family_name: r.family_name,
        family_phone: kernel::crypto::mask_phone(&r.family_phone),
        resident_id: r.resident_id,
        resident_name: r.resident_name,
        relation: r.relation,
        status: Status::parse(&r.status)?,
        requested_at: r.requested_at,
        confirmed_at: r.confirmed_at,
        confirmed_by: r.confirmed_by,
        confirmed_how,
    })
}

/// The confirmed family members (user ids) of a resident: who hears about her cases, and
/// later her alarms. Unconfirmed and ended bindings count for nothing.
pub async fn family_of(conn: &mut sqlx::AnyConnection, resident_id: ResidentId) -> AppResult<Vec<UserId>> {
    Ok(sqlx::query_scalar("SELECT family_user_id FROM family_links WHERE resident_id = $1 AND status = 'confirmed' ORDER BY family_user_id")
        .bind(resident_id)
        .fetch_all(conn)
        .await?)
}


impl Elder {
    /// The family member's relation to her, in the reader's words.
    pub fn relation_in(&self, locale: impl std::borrow::Borrow<kernel::i18n::Locale>) -> String {
        relation_words(*locale.borrow(), &self.relation)
    }
}

/// The columns of `ElderRow`, and the tables they come from.
const ELDER_COLUMNS: &str = "SELECT r.id AS resident_id, r.community_id, r.name, f.relation, r.user_id FROM family_links f JOIN residents r ON r.id = f.resident_id";

kernel::row! {
    /// An elder a family member is bound to, as stored.
    struct ElderRow {
        resident_id: ResidentId,
        community_id: CommunityId,
        name: String,
        relation: String,
        user_id: Option<UserId>,
    }
}

fn elder_from(r: ElderRow) -> Elder {
    Elder { resident_id: r.resident_id, community_id: r.community_id, name: r.name, relation: r.relation, user_id: r.user_id }
}

/// The elders a person is bound to (confirmed bindings only), in the order they were bound.
pub async fn elders_of(state: &AppState, user_id: UserId) -> AppResult<Vec<Elder>> {
    let rows: Vec<ElderRow> = sqlx::query_as(&format!("{ELDER_COLUMNS} WHERE f.family_user_id = $1 AND f.status = 'confirmed' ORDER BY f.confirmed_at, r.id"))
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.into_iter().map(elder_from).collect())
}

/// The elder `resident_id` if `user_id` is bound to her by a confirmed binding; `None` otherwise.
pub async fn bound(state: &AppState, user_id: UserId, resident_id: ResidentId) -> AppResult<Option<Elder>> {
    let row: Option<ElderRow> = sqlx::query_as(&format!("{ELDER_COLUMNS} WHERE f.family_user_id = $1 AND f.resident_id = $2 AND f.status = 'confirmed'"))
        .bind(user_id)
        .bind(resident_id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.map(elder_from))
}

/// Who a request names: the elder's mobile or ID number.
fn parse_elder(who: &str) -> Result<Result<PhoneNumber, IdCardNumber>, kernel::FieldError> {
    let who = kernel::validate::required("elder", who, 30)?;
    let compact: String = who.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if let Ok(p) = PhoneNumber::parse(&compact) {
        return Ok(Ok(p));
    }
    IdCardNumber::parse(&compact).map(Err).map_err(|_| kernel::FieldError::new("elder", "family_elder_format"))
}

/// Asks to be bound to the elder registered under `who` (mobile or ID number) as `relation`
/// (a code from [`RELATIONS`]). The answer is the same whether or not she is registered: the
/// request is kept for the requester's own list either way, and only she (or staff, with her
/// in person) can tell, by confirming or declining. Asking again while a request for the same
/// number waits changes nothing and tells her nothing again.
pub async fn request(state: &AppState, p: &Principal, who: &str, relation: &str) -> AppResult<()> {
    let uid = p.person()?;
    if !may_request(p) {
        return Err(AppError::Forbidden);
    }
    let (elder, relation) = match (parse_elder(who), parse_relation(relation)) {
        (Ok(e), Ok(r)) => (e, r),
        (e, r) => return Err(AppError::Validation([e.err(), r.err()].into_iter().flatten().collect())),
    };
    kernel::quota::spend(state, &FAMILY_REQUESTS, &format!("user:{uid}")).await?;
    let (target_idx, target_masked) = match &elder {
        Ok(phone) => (state.cipher.blind_index(phone.as_str()), phone.masked()),
        Err(id_number) => (state.cipher.blind_index(id_number.as_str()), id_number.masked()),
    };
    kernel::row! {
        /// A resident registered under the number asked for.
        struct Found {
            id: ResidentId,
            community_id: CommunityId,
            user_id: Option<UserId>,
        }
    }
    let found: Vec<Found> = match &elder {
        Ok(phone) => sqlx::query_as("SELECT id, community_id, user_id FROM residents WHERE phone = $1 ORDER BY id")
            .bind(phone.as_str())
            .fetch_all(&state.db.pool)
            .await?,
        Err(id_number) => sqlx::query_as("SELECT id, community_id, user_id FROM residents WHERE id_number_idx = $1 ORDER BY id")
            .bind(state.cipher.blind_index(id_number.as_str()))
            .fetch_all(&state.db.pool)
            .await?,
    };
    let found: Vec<(ResidentId, CommunityId, Option<UserId>)> = found.into_iter().map(|r| (r.id, r.community_id, r.user_id)).collect();
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // A request that waited its time out makes way for the new one.
    sqlx::query("UPDATE family_requests SET status = 'expired', closed_at = $1 WHERE requester_user_id = $2 AND target_idx = $3 AND status = 'pending' AND created_at <= $4")
        .bind(now)
        .bind(uid)
        .bind(&target_idx)
        .bind(now - REQUEST_LIFETIME_MS)
        .execute(&mut *tx)
        .await?;
    // One pending request per person and number (a unique index, so parallel posts on any
    // database make one): a repeat does nothing.
    let request_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO family_requests (requester_user_id, target_idx, target_masked, relation, status, created_at) VALUES ($1, $2, $3, $4, 'pending', $5) \
         ON CONFLICT (requester_user_id, target_idx) WHERE status = 'pending' DO NOTHING RETURNING id",
    )
    .bind(uid)
    .bind(&target_idx)
    .bind(&target_masked)
    .bind(relation)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(request_id) = request_id else { return tx.commit().await };
    for (resident, community, login) in found.into_iter().filter(|(_, _, login)| *login != Some(uid)) {
        // A confirmed binding stays as it is; anything else becomes this request.
        let asked = sqlx::query(
            "INSERT INTO family_links (family_user_id, resident_id, relation, created_at, status, requested_at, request_id) VALUES ($1, $2, $3, $4, 'requested', $4, $5) \
             ON CONFLICT (family_user_id, resident_id) DO UPDATE SET status = 'requested', relation = $3, requested_at = $4, confirmed_at = NULL, \
             confirmed_by_user_id = NULL, confirmed_how = NULL, ended_at = NULL, ended_by_user_id = NULL, request_id = $5 WHERE family_links.status <> 'confirmed'",
        )
        .bind(uid)
        .bind(resident)
        .bind(relation)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if asked > 0 {
            let what = serde_json::json!({"family": [null, p.display_name], "relation": [null, relation]});
            audit::record_change(&mut tx, now, Some(p), Some(community), "resident", resident, "family_requested", &what).await?;
            if let Some(elder) = login {
                // She hears of it in her inbox, and answers on her own page.
                let locale: String = sqlx::query_scalar("SELECT locale FROM users WHERE id = $1").bind(elder).fetch_one(&mut *tx).await?;
                let locale = kernel::i18n::Locale::parse(&locale).unwrap_or_default();
                let msg = notify::Message {
                    community_id: Some(community),
                    user_id: Some(elder),
                    channel: notify::Channel::Inbox,
                    to: String::new(),
                    template: "family_request",
                    params: vec![("name", p.display_name.clone()), ("relation", relation_words(locale, relation))],
                    secret_params: &[],
                    link: Some("/me#family".into()),
                    locale,
                    idempotency_key: format!("{}r{request_id}", message_key(uid, resident)),
                };
                notify::service::send(&mut tx, now, &msg).await?;
            }
        }
    }
    tx.commit().await
}

/// The start of every request message's idempotency key for one requester and elder (older
/// messages end in the instant, newer in the request's id), so an answer settles them all.
fn message_key(family_user_id: UserId, resident_id: ResidentId) -> String {
    format!("family_request:{family_user_id}:{resident_id}:")
}

/// The elder's request messages no longer ask for an answer: they show `outcome` instead.
async fn settle_messages(tx: &mut kernel::db::WriteTx, family_user_id: UserId, resident_id: ResidentId, outcome: &str) -> AppResult<()> {
    notify::service::settle(tx, &message_key(family_user_id, resident_id), outcome).await
}

/// One request as its sender sees it on the family page.
#[derive(Debug, Clone, Serialize)]
pub struct MyRequest {
    /// Id (for withdrawing it).
    pub id: i64,
    /// The number asked about, masked.
    pub target: String,
    /// The relation chosen (a code; older rows free text).
    pub relation: String,
    /// Sent at (epoch ms).
    pub created_at: i64,
    /// `pending`, `confirmed`, `declined`, `withdrawn`, `ended` or `expired`.
    pub state: &'static str,
}

impl MyRequest {
    /// The relation in the reader's words.
    pub fn relation_in(&self, locale: impl std::borrow::Borrow<kernel::i18n::Locale>) -> String {
        relation_words(*locale.borrow(), &self.relation)
    }
    /// Whether it still waits (and may be withdrawn).
    pub fn is_pending(&self) -> bool {
        self.state == "pending"
    }
    /// Catalogue key of its state.
    pub fn state_key(&self) -> String {
        format!("family.request_state.{}", self.state)
    }
}

/// A request's state as shown: a stored status that does not read is an error, never taken as
/// expired.
fn request_state(status: &str, created_at: i64, now: i64) -> AppResult<&'static str> {
    Ok(match status {
        "pending" if created_at <= now - REQUEST_LIFETIME_MS => "expired",
        "pending" => "pending",
        "confirmed" => "confirmed",
        "declined" => "declined",
        "withdrawn" => "withdrawn",
        "ended" => "ended",
        "expired" => "expired",
        other => return Err(AppError::internal(format!("stored family request status {other}"))),
    })
}

/// What the family page offers a person for asking: whether they may, the relations to choose
/// from, and their own requests, newest first.
#[derive(Debug, Clone)]
pub struct Asking {
    /// A person's own login (not a business's).
    pub allowed: bool,
    /// Their requests.
    pub requests: Vec<MyRequest>,
}

impl Asking {
    /// The form's relation choices: `(code, catalogue key, chosen)`.
    pub fn relations(&self, chosen: &str) -> Vec<(&'static str, String, bool)> {
        RELATIONS.iter().map(|r| (*r, format!("family.relation.{r}"), *r == chosen)).collect()
    }
}

/// The family page's asking part for `p`.
pub async fn asking(state: &AppState, p: &Principal) -> AppResult<Asking> {
    let Some(uid) = p.user_id else { return Ok(Asking { allowed: false, requests: Vec::new() }) };
    kernel::row! {
        /// A request the person made.
        struct Made {
            id: i64,
            target_masked: String,
            relation: String,
            status: String,
            created_at: i64,
        }
    }
    let rows: Vec<Made> = sqlx::query_as(
        "SELECT id, target_masked, relation, status, created_at FROM family_requests WHERE requester_user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20",
    )
    .bind(uid)
    .fetch_all(&state.db.pool)
    .await?;
    let now = state.now();
    let requests = rows
        .into_iter()
        .map(|r| Ok(MyRequest { id: r.id, target: r.target_masked, relation: r.relation, created_at: r.created_at, state: request_state(&r.status, r.created_at, now)? }))
        .collect::<AppResult<_>>()?;
    Ok(Asking { allowed: may_request(p), requests })
}

/// The requester takes back a request that still waits: the elder is no longer asked. Taking
/// back one that was answered or taken back already changes nothing; someone else's is not found.
pub async fn withdraw(state: &AppState, p: &Principal, request_id: i64) -> AppResult<()> {
    let uid = p.person()?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let owner: Option<UserId> = sqlx::query_scalar("SELECT requester_user_id FROM family_requests WHERE id = $1").bind(request_id).fetch_optional(&mut *tx).await?;
    if owner != Some(uid) {
        return Err(AppError::NotFound);
    }
    let done = sqlx::query("UPDATE family_requests SET status = 'withdrawn', closed_at = $1 WHERE id = $2 AND status = 'pending'")
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done > 0 {
        kernel::row! {
            /// A binding the request asked for, with the elder's community.
            struct Asked {
                resident_id: ResidentId,
                community_id: CommunityId,
            }
        }
        let asked: Vec<Asked> = sqlx::query_as(
            "SELECT f.resident_id, r.community_id FROM family_links f JOIN residents r ON r.id = f.resident_id WHERE f.request_id = $1 AND f.status = 'requested'",
        )
        .bind(request_id)
        .fetch_all(&mut *tx)
        .await?;
        for Asked { resident_id: resident, community_id: community } in asked {
            sqlx::query("UPDATE family_links SET status = 'ended', ended_at = $1, ended_by_user_id = $2 WHERE family_user_id = $2 AND resident_id = $3 AND status = 'requested'")
                .bind(now)
                .bind(uid)
                .bind(resident)
                .execute(&mut *tx)
                .await?;
            let what = serde_json::json!({"family": [p.display_name, null]});
            audit::record_change(&mut tx, now, Some(p), Some(community), "resident", resident, "family_withdrawn", &what).await?;
            settle_messages(&mut tx, uid, resident, "withdrawn").await?;
        }
    }
    tx.commit().await
}

/// Every binding a person is part of, as the family member or as the elder, for their
/// personal-data download: who, what relation, where it stands and how consent was given.
pub async fn personal(state: &AppState, user_id: UserId) -> AppResult<Vec<serde_json::Value>> {
    let rows: Vec<LinkRow> = sqlx::query_as(&format!("SELECT {LINK_COLUMNS} WHERE f.family_user_id = $1 OR r.user_id = $1 ORDER BY f.created_at"))
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.into_iter()
        .map(link_from)
        .map(|l| {
            let l = l?;
            let other = if l.family_user_id == user_id { &l.resident_name } else { &l.family_name };
            Ok(serde_json::json!({
                "name": other,
                "relation": l.relation,
                "status": l.status.code(),
                "requested_at": l.requested_at,
                "confirmed_at": l.confirmed_at,
                "consent": l.confirmed_how.map(Consent::export_code),
            }))
        })
        .collect()
}

/// Bindings asked for or held with the resident record of `user_id` (her own 我的 page).
pub async fn links_of_login(state: &AppState, user_id: UserId) -> AppResult<Vec<Link>> {
    let rows: Vec<LinkRow> = sqlx::query_as(&format!("SELECT {LINK_COLUMNS} WHERE r.user_id = $1 AND f.status <> 'ended' ORDER BY f.requested_at, f.family_user_id"))
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.into_iter().map(link_from).collect()
}

/// Bindings asked for or held with a resident, for staff (permission and grid scope checked).
pub async fn links_of_resident(state: &AppState, p: &Principal, c: &Community, resident_id: ResidentId) -> AppResult<Vec<Link>> {
    crate::service::resident(state, p, c, resident_id).await?;
    let rows: Vec<LinkRow> = sqlx::query_as(&format!("SELECT {LINK_COLUMNS} WHERE f.resident_id = $1 AND f.status <> 'ended' ORDER BY f.requested_at, f.family_user_id"))
        .bind(resident_id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.into_iter().map(link_from).collect()
}

/// The binding's row as it stands: `(status, community, the elder's login)`.
async fn load(conn: &mut sqlx::AnyConnection, family_user_id: UserId, resident_id: ResidentId) -> AppResult<(Status, CommunityId, Option<UserId>)> {
    kernel::row! {
        /// A binding's status, with the elder's community and login.
        struct Loaded {
            status: String,
            community_id: CommunityId,
            user_id: Option<UserId>,
        }
    }
    let row: Loaded = sqlx::query_as("SELECT f.status, r.community_id, r.user_id FROM family_links f JOIN residents r ON r.id = f.resident_id WHERE f.family_user_id = $1 AND f.resident_id = $2")
        .bind(family_user_id)
        .bind(resident_id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((Status::parse(&row.status)?, row.community_id, row.user_id))
}

/// The elder, logged in, agrees to a request made to her.
pub async fn confirm_by_elder(state: &AppState, p: &Principal, family_user_id: UserId, resident_id: ResidentId) -> AppResult<()> {
    let uid = p.person()?;
    let (status, community, login) = load(&mut *state.db.pool.acquire().await?, family_user_id, resident_id).await?;
    if login != Some(uid) || status != Status::Requested {
        return Err(AppError::NotFound);
    }
    confirm(state, p, family_user_id, resident_id, community, Consent::Online).await
}

/// Staff confirm a request the elder agreed to in person (permission and grid scope checked).
pub async fn confirm_in_person(state: &AppState, p: &Principal, c: &Community, family_user_id: UserId, resident_id: ResidentId) -> AppResult<()> {
    p.require(c.id, &FAMILY_CONFIRM)?;
    crate::service::resident(state, p, c, resident_id).await?;
    let (status, community, _) = load(&mut *state.db.pool.acquire().await?, family_user_id, resident_id).await?;
    if status != Status::Requested || community != c.id {
        return Err(AppError::NotFound);
    }
    confirm(state, p, family_user_id, resident_id, community, Consent::InPerson).await
}

async fn confirm(state: &AppState, p: &Principal, family_user_id: UserId, resident_id: ResidentId, community: CommunityId, how: Consent) -> AppResult<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE family_links SET status = 'confirmed', confirmed_at = $1, confirmed_by_user_id = $2, confirmed_how = $3 \
         WHERE family_user_id = $4 AND resident_id = $5 AND status = 'requested'",
    )
    .bind(now)
    .bind(p.user_id)
    .bind(how.code())
    .bind(family_user_id)
    .bind(resident_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict { field: "family".into(), code: "family_changed" });
    }
    sqlx::query(
        "UPDATE family_requests SET status = 'confirmed', closed_at = $1 WHERE status = 'pending' AND id = (SELECT request_id FROM family_links WHERE family_user_id = $2 AND resident_id = $3)",
    )
    .bind(now)
    .bind(family_user_id)
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    settle_messages(&mut tx, family_user_id, resident_id, "confirmed").await?;
    accounts::service::grant(&mut tx, now, family_user_id, community, Role::Family).await?;
    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1").bind(family_user_id).fetch_one(&mut *tx).await?;
    let what = serde_json::json!({"family": [null, name], "consent": [null, how.code()]});
    audit::record_change(&mut tx, now, Some(p), Some(community), "resident", resident_id, "family_confirmed", &what).await?;
    tx.commit().await?;
    state.sessions.invalidate_user(family_user_id);
    Ok(())
}

/// Ends (or declines) a binding: the family member, the elder herself, or staff within reach.
/// Returns where it stood before (a request declined, a binding ended).
pub async fn end(state: &AppState, p: &Principal, family_user_id: UserId, resident_id: ResidentId) -> AppResult<Status> {
    let uid = p.user_id;
    let (status, community, login) = load(&mut *state.db.pool.acquire().await?, family_user_id, resident_id).await?;
    let side = uid == Some(family_user_id) || (login.is_some() && login == uid);
    if !side {
        // Staff of the elder's community, within their grids; to anyone else it does not exist.
        let c = kernel::community::all(state, Some(&[community])).await?.pop().ok_or(AppError::NotFound)?;
        if !p.can(c.id, &FAMILY_CONFIRM) || crate::service::resident(state, p, &c, resident_id).await.is_err() {
            return Err(AppError::NotFound);
        }
    }
    if status == Status::Ended {
        return Ok(status);
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE family_links SET status = 'ended', ended_at = $1, ended_by_user_id = $2 WHERE family_user_id = $3 AND resident_id = $4")
        .bind(now)
        .bind(uid)
        .bind(family_user_id)
        .bind(resident_id)
        .execute(&mut *tx)
        .await?;
    // The request it came from ends with it: taken back by its sender, declined by the elder
    // (or staff for her), or a binding ended.
    let (from, outcome) = match status {
        Status::Requested if uid == Some(family_user_id) => ("pending", "withdrawn"),
        Status::Requested => ("pending", "declined"),
        _ => ("confirmed", "ended"),
    };
    sqlx::query(&format!(
        "UPDATE family_requests SET status = '{outcome}', closed_at = $1 WHERE status = '{from}' AND id = (SELECT request_id FROM family_links WHERE family_user_id = $2 AND resident_id = $3)"
    ))
    .bind(now)
    .bind(family_user_id)
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    if status == Status::Requested {
        settle_messages(&mut tx, family_user_id, resident_id, outcome).await?;
    }
    // The family role goes with the last binding in the community.
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM family_links f JOIN residents r ON r.id = f.resident_id WHERE f.family_user_id = $1 AND r.community_id = $2 AND f.status = 'confirmed'",
    )
    .bind(family_user_id)
    .bind(community)
    .fetch_one(&mut *tx)
    .await?;
    if left == 0 {
        accounts::service::revoke(&mut tx, family_user_id, community, Role::Family).await?;
    }
    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1").bind(family_user_id).fetch_one(&mut *tx).await?;
    let action = match outcome {
        "withdrawn" => "family_withdrawn",
        "declined" => "family_declined",
        _ => "family_ended",
    };
    audit::record_change(&mut tx, now, Some(p), Some(community), "resident", resident_id, action, &serde_json::json!({"family": [name, null]})).await?;
    tx.commit().await?;
    state.sessions.invalidate_user(family_user_id);
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is typed as the elder's number is either understood or refused with a
        /// field error the form can translate.
        #[test]
        fn any_elder_text_is_parsed_or_refused(who in "\\PC{0,40}") {
            match parse_elder(&who) {
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.field.as_str(), "elder"),
            }
        }
    }

    #[test]
    fn phone_and_id_numbers_are_told_apart() {
        assert!(matches!(parse_elder("139 0000 0006"), Ok(Ok(_))));
        assert!(matches!(parse_elder(IdCardNumber::with_check_digit("32010219560312042").as_str()), Ok(Err(_))));
        assert_eq!(parse_elder("李秀英").unwrap_err().code, "family_elder_format");
        assert_eq!(parse_elder("").unwrap_err().code, "required");
    }
}
