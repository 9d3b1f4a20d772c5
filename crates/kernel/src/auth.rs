//! Who is asking: roles, principals, sessions, API keys and the permission check that every
//! service calls before it reads or changes anything.

use crate::community::CommunityId;
use crate::crypto::{hash_token, random_token};
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

crate::id! {
    /// A login's id (a person's account; a resident record is a `registry` ResidentId).
    pub struct UserId;
}

/// A role a person holds in one community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 居民
    Resident,
    /// 家属
    Family,
    /// 网格员, scoped to their grids
    GridWorker,
    /// 社区工作者
    Staff,
    /// 信息联络员
    Liaison,
    /// 志愿者
    Volunteer,
    /// 商户
    Merchant,
    /// 管理员
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 8] = [
        Role::Resident,
        Role::Family,
        Role::GridWorker,
        Role::Staff,
        Role::Liaison,
        Role::Volunteer,
        Role::Merchant,
        Role::Admin,
    ];
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Family => "family",
            Role::GridWorker => "grid_worker",
            Role::Staff => "staff",
            Role::Liaison => "liaison",
            Role::Volunteer => "volunteer",
            Role::Merchant => "merchant",
            Role::Admin => "admin",
        }
    }
    /// Parses a stored code.
    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
    /// Whether this role works in the staff console.
    pub fn is_staff_side(self) -> bool {
        matches!(self, Role::Staff | Role::GridWorker | Role::Admin)
    }
}

/// A named permission and the roles that hold it. Capabilities declare theirs as constants.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    /// Dotted name, e.g. `registry.residents.read`.
    pub name: &'static str,
    /// Roles granted this permission.
    pub roles: &'static [Role],
}

/// One role in one community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// Community id.
    pub community_id: CommunityId,
    /// Role held there.
    pub role: Role,
}

/// The person (or integration key) behind a request.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    /// The user, if a person is logged in.
    pub user_id: Option<UserId>,
    /// The API key, if an integration is calling.
    pub api_key_id: Option<i64>,
    /// Name shown in the interface.
    pub display_name: String,
    /// Login phone number (empty for API keys).
    #[serde(skip)]
    pub phone: String,
    /// Preferred language.
    pub locale: Locale,
    /// 适老化 mode is on.
    pub elder_mode: bool,
    /// Deployment-wide administrator.
    pub superadmin: bool,
    /// Roles per community.
    pub memberships: Vec<Membership>,
}

impl Principal {
    /// The operator at the server's console (a `linli` subcommand): may do anything, recorded
    /// as no user.
    pub fn operator() -> Principal {
        Principal {
            user_id: None,
            api_key_id: None,
            display_name: "operator".into(),
            phone: String::new(),
            locale: crate::i18n::Locale::ZhCn,
            elder_mode: false,
            superadmin: true,
            memberships: Vec::new(),
        }
    }
    /// Whom a per-person budget (`crate::quota`) counts: `user:<id>` or `key:<id>`; `None`
    /// for the operator at the console.
    pub fn quota_key(&self) -> Option<String> {
        match (self.user_id, self.api_key_id) {
            (Some(id), _) => Some(format!("user:{id}")),
            (None, Some(key)) => Some(format!("key:{key}")),
            (None, None) => None,
        }
    }
    /// The user id, or Forbidden for an API key acting where a person is required.
    pub fn person(&self) -> AppResult<UserId> {
        self.user_id.ok_or(AppError::Forbidden)
    }
    /// Whether the principal holds `role` in `community_id`.
    pub fn has_role(&self, community_id: CommunityId, role: Role) -> bool {
        self.memberships.iter().any(|m| m.community_id == community_id && m.role == role)
    }
    /// Whether the principal may use `perm` in `community_id`.
    pub fn can(&self, community_id: CommunityId, perm: &Permission) -> bool {
        self.superadmin
            || self
                .memberships
                .iter()
                .any(|m| m.community_id == community_id && perm.roles.contains(&m.role))
    }
    /// Fails with Forbidden unless [`Principal::can`].
    pub fn require(&self, community_id: CommunityId, perm: &Permission) -> AppResult<()> {
        if self.can(community_id, perm) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
    /// Whether any membership is on the staff side (console access).
    pub fn is_staff_side(&self) -> bool {
        self.superadmin || self.memberships.iter().any(|m| m.role.is_staff_side())
    }
    /// Communities where the principal holds any role.
    pub fn community_ids(&self) -> Vec<CommunityId> {
        let mut ids: Vec<CommunityId> = self.memberships.iter().map(|m| m.community_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3_600_000;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "linli_session";
const CACHE_TTL: Duration = Duration::from_secs(15);

/// Resolved sessions, kept briefly so a page view costs no session query.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Arc<Principal>, Instant)>>,
}

impl SessionCache {
    fn get(&self, key: &str) -> Option<Arc<Principal>> {
        let map = self.entries.lock().expect("session cache");
        map.get(key).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(p, _)| p.clone())
    }
    fn put(&self, key: String, p: Arc<Principal>) {
        let mut map = self.entries.lock().expect("session cache");
        if map.len() > 50_000 {
            map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        map.insert(key, (p, Instant::now()));
    }
    /// Forgets every cached session of `user_id` (after logout or a profile change).
    pub fn invalidate_user(&self, user_id: UserId) {
        self.entries.lock().expect("session cache").retain(|_, (p, _)| p.user_id != Some(user_id));
    }
}

/// Creates a session for `user_id` and returns the cookie token.
pub async fn create_session(state: &AppState, user_id: UserId, user_agent: &str) -> AppResult<String> {
    let token = random_token(32);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + SESSION_TTL_MS)
        .bind(user_agent.chars().take(200).collect::<String>())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(token)
}

/// Ends the session behind `token`.
pub async fn end_session(state: &AppState, token: &str) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let user: Option<UserId> = sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
        .bind(hash_token(token))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Some(uid) = user {
        state.sessions.invalidate_user(uid);
    }
    Ok(())
}

/// Ends every session of `user_id` inside `tx` (after a password change); the caller forgets
/// the cached ones with [`SessionCache::invalidate_user`] once `tx` commits.
pub async fn end_all_sessions(tx: &mut crate::db::WriteTx, user_id: UserId) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

/// The display names of users by id (those that exist), for a page that lists who something
/// went to or came from.
pub async fn display_names(state: &AppState, user_ids: &[UserId]) -> AppResult<std::collections::HashMap<UserId, String>> {
    crate::people::names(&state.db.pool, user_ids).await
}

crate::row! {
    /// A login as its principal is built from.
    struct UserRow {
        id: UserId,
        display_name: String,
        phone: String,
        locale: String,
        elder_mode: i64,
        is_superadmin: i64,
    }
}

crate::row! {
    /// One of a login's roles in a community.
    struct MembershipRow {
        community_id: CommunityId,
        role: String,
    }
}

/// Loads a user's principal (memberships included).
pub async fn load_user(state: &AppState, user_id: UserId) -> AppResult<Option<Principal>> {
    let Some(user) = sqlx::query_as::<_, UserRow>(
        "SELECT id, display_name, phone, locale, elder_mode, is_superadmin FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?
    else {
        return Ok(None);
    };
    let memberships = sqlx::query_as::<_, MembershipRow>("SELECT community_id, role FROM memberships WHERE user_id = $1 ORDER BY community_id, role")
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        // A stored role that does not read is an error, never a role silently dropped.
        .map(|m| Role::parse(&m.role).map(|role| Membership { community_id: m.community_id, role }).ok_or_else(|| AppError::internal(format!("stored role {}", m.role))))
        .collect::<AppResult<_>>()?;
    Ok(Some(Principal {
        user_id: Some(user.id),
        api_key_id: None,
        display_name: user.display_name,
        phone: user.phone,
        locale: Locale::parse(&user.locale).unwrap_or_default(),
        elder_mode: user.elder_mode != 0,
        superadmin: user.is_superadmin != 0,
        memberships,
    }))
}

async fn principal_for_session(state: &AppState, token: &str) -> AppResult<Option<Arc<Principal>>> {
    let key = hash_token(token);
    if let Some(p) = state.sessions.get(&key) {
        return Ok(Some(p));
    }
    let user_id: Option<UserId> = sqlx::query_scalar("SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(&key)
        .bind(state.now())
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(user_id) = user_id else { return Ok(None) };
    let Some(p) = load_user(state, user_id).await? else { return Ok(None) };
    let p = Arc::new(p);
    state.sessions.put(key, p.clone());
    Ok(Some(p))
}

/// The principal behind an API key, if the key is valid. Read from the database every time (one
/// lookup by a unique index), not cached: a key revoked by `linli apikey revoke`, from another
/// process or node, is refused from the next request on.
pub async fn principal_for_api_key(state: &AppState, token: &str) -> AppResult<Option<Arc<Principal>>> {
    crate::row! {
        /// A key that is not revoked.
        struct KeyRow {
            id: i64,
            name: String,
            community_id: CommunityId,
            role: String,
        }
    }
    let key: Option<KeyRow> = sqlx::query_as("SELECT id, name, community_id, role FROM api_keys WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(hash_token(token))
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(key) = key else { return Ok(None) };
    let role = Role::parse(&key.role).ok_or(AppError::Unauthorized)?;
    let p = Arc::new(Principal {
        user_id: None,
        api_key_id: Some(key.id),
        display_name: key.name,
        phone: String::new(),
        locale: Locale::ZhCn,
        elder_mode: false,
        superadmin: false,
        memberships: vec![Membership { community_id: key.community_id, role }],
    });
    Ok(Some(p))
}

/// Creates an API key for an integration; returns `(id, token)`. The token is shown once.
pub async fn create_api_key(
    state: &AppState,
    name: &str,
    community_id: CommunityId,
    role: Role,
    created_by: Option<UserId>,
) -> AppResult<(i64, String)> {
    let token = format!("lk_{}", random_token(30));
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (token_hash, name, community_id, role, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(hash_token(&token))
    .bind(name)
    .bind(community_id)
    .bind(role.code())
    .bind(created_by)
    .bind(state.now())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

crate::row! {
    /// An API key as an operator sees it (never the token).
    #[derive(Debug, Clone, Serialize)]
    pub struct ApiKeySummary {
        /// Key id.
        pub id: i64,
        /// What the key is for.
        pub name: String,
        /// Slug of the community the key acts in.
        pub community: String,
        /// Role the key acts with.
        pub role: String,
        /// When it was created (epoch ms).
        pub created_at: i64,
        /// When it was revoked (epoch ms), if it was.
        pub revoked_at: Option<i64>,
    }
}

/// Every API key, oldest first.
pub async fn list_api_keys(state: &AppState) -> AppResult<Vec<ApiKeySummary>> {
    Ok(sqlx::query_as(
        "SELECT k.id, k.name, c.slug AS community, k.role, k.created_at, k.revoked_at FROM api_keys k JOIN communities c ON c.id = k.community_id ORDER BY k.id",
    )
    .fetch_all(&state.db.pool)
    .await?)
}

/// Revokes a key; it is refused from the next request on. `Ok(false)` when no key has that id;
/// revoking a revoked key keeps its first revocation time.
pub async fn revoke_api_key(state: &AppState, id: i64) -> AppResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let found: Option<i64> = sqlx::query_scalar("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING id")
        .bind(state.now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found.is_some())
}

/// Whether callers of `path` may authenticate with a bearer API key: the JSON API and Open311.
/// Pages are for people with a session; a key sent to a page is ignored.
pub fn accepts_api_keys(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/open311/")
}

/// The principal resolved for this request, if any (set by the auth middleware).
#[derive(Debug, Clone, Default)]
pub struct Viewer(pub Option<Arc<Principal>>);

/// Resolves the principal from the session cookie, or from a bearer API key on the paths that
/// [`accepts_api_keys`] (elsewhere the `Authorization` header is ignored).
pub async fn resolve(state: &AppState, parts: &Parts) -> AppResult<Viewer> {
    let header = parts.headers.get(axum::http::header::AUTHORIZATION).filter(|_| accepts_api_keys(parts.uri.path()));
    if let Some(auth) = header.and_then(|v| v.to_str().ok()) {
        let token = auth.strip_prefix("Bearer ").ok_or(AppError::Unauthorized)?.trim();
        return match principal_for_api_key(state, token).await? {
            Some(p) => Ok(Viewer(Some(p))),
            None => Err(AppError::Unauthorized),
        };
    }
    match crate::web::cookie(&parts.headers, SESSION_COOKIE) {
        Some(token) => Ok(Viewer(principal_for_session(state, token).await?)),
        None => Ok(Viewer(None)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Viewer>().cloned().unwrap_or_default())
    }
}

/// A logged-in principal; extracting it fails with 401 when nobody is logged in.
#[derive(Debug, Clone)]
pub struct User(pub Arc<Principal>);

impl std::ops::Deref for User {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Viewer>()
            .and_then(|v| v.0.clone())
            .map(User)
            .ok_or(AppError::Unauthorized)
    }
}
