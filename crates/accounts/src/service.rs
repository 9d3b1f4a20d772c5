//! Accounts: users, logins by password or SMS code, throttling and lockout, preferences.

use kernel::community::CommunityId;
use kernel::auth::{Role, UserId, create_session};
use kernel::crypto::{hash_password_async, hash_token, random_digits, verify_password_async, PhoneNumber};
use kernel::db::{Backend, WriteTx};
use kernel::error::{AppError, AppResult, FieldError};
use kernel::i18n::Locale;
use kernel::state::AppState;
use kernel::web::ClientIp;
use notify::{Channel, Message};

/// Password checks one phone number may have from one source within [`WINDOW_MS`].
pub const CHECKS_PER_SOURCE: i64 = 5;
/// Password checks one phone number may have from all sources together within [`WINDOW_MS`]:
/// bounds a guesser spread over many addresses. Spending it locks the password path only; the
/// owner can still log in with an SMS code.
pub const CHECKS_PER_PHONE: i64 = 20;
/// Current passwords one user may give when changing the password, within [`WINDOW_MS`].
pub const CHECKS_PER_CHANGE: i64 = 5;
/// Window in which password checks are counted, from the first one; a spent budget stays
/// spent until its window ends.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Wrong tries an SMS code survives.
pub const CODE_TRIES: i64 = 5;
/// How long an SMS code stays valid.
pub const CODE_TTL_MS: i64 = 5 * 60_000;
/// Minimum gap between two codes sent to one number.
pub const CODE_GAP_MS: i64 = 60_000;
/// Codes one number may receive per hour.
pub const CODES_PER_HOUR: i64 = 5;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// A successful login: the session token for the cookie and who logged in.
#[derive(Debug)]
pub struct LoggedIn {
    /// Session token (cookie value).
    pub token: String,
    /// User id.
    pub user_id: UserId,
}

fn parse_phone(raw: &str) -> AppResult<PhoneNumber> {
    PhoneNumber::parse(raw).map_err(|code| AppError::field("phone", code))
}

/// Validates a new password.
pub fn check_password(pw: &str) -> AppResult<()> {
    if pw.chars().count() < MIN_PASSWORD {
        return Err(AppError::Validation(vec![FieldError::new("password", "password_short").arg("min", MIN_PASSWORD)]));
    }
    if pw.len() > 200 {
        return Err(AppError::Validation(vec![FieldError::new("password", "too_long").arg("max", 200)]));
    }
    Ok(())
}

/// At most `limit` password checks for one subject in a window of [`WINDOW_MS`] from the first.
struct Budget {
    /// Hash of the subject, so the table holds no phone numbers or addresses.
    key: String,
    limit: i64,
}

impl Budget {
    fn new(subject: &str, limit: i64) -> Self {
        Budget { key: hash_token(subject), limit }
    }

    /// Per number and source, and per number across all sources.
    fn login(phone: &PhoneNumber, source: &ClientIp) -> [Budget; 2] {
        [
            Budget::new(&format!("login:{}:{}", phone.as_str(), source.0), CHECKS_PER_SOURCE),
            Budget::new(&format!("login:{}", phone.as_str()), CHECKS_PER_PHONE),
        ]
    }

    fn password_change(user_id: UserId) -> [Budget; 1] {
        [Budget::new(&format!("change:{user_id}"), CHECKS_PER_CHANGE)]
    }
}

/// A check taken from budgets: how many the emptiest has left, and when its window ends.
struct Taken {
    left: i64,
    retry_after_s: i64,
}

impl Taken {
    /// The answer to a wrong password: `wrong`, or 429 when this was the last check allowed.
    fn refusal(&self, wrong: AppError) -> AppError {
        if self.left > 0 {
            wrong
        } else {
            AppError::TooManyRequests { retry_after_s: self.retry_after_s }
        }
    }
}

fn seconds_until(until: i64, now: i64) -> i64 {
    ((until - now + 999) / 1000).max(1)
}

/// Takes one password check from every budget in one write transaction, before the password
/// is verified, so parallel attempts cannot all pass a count made before any was recorded; a
/// spent budget refuses with 429 until its window ends and takes nothing from the others.
/// Rows of ended windows are purged in the same write, so numbers tried once do not pile up.
async fn take_check(state: &AppState, budgets: &[Budget]) -> AppResult<Taken> {
    let now = state.now();
    let ended = now - WINDOW_MS;
    let mut tx = state.db.begin_write().await?;
    // PostgreSQL: rows another attempt is holding are left for the next purge, so purges never wait.
    let purge = match state.db.backend {
        Backend::Sqlite => "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE window_start <= $1 LIMIT 1000)",
        Backend::Postgres => {
            "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE window_start <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED)"
        }
    };
    sqlx::query(purge).bind(ended).execute(&mut *tx).await?;
    kernel::row! {
        /// A budget's window after this check: checks taken and when it started.
        struct ThrottleWindow {
            checks: i64,
            window_start: i64,
        }
    }
    let mut taken = Taken { left: i64::MAX, retry_after_s: 0 };
    for b in budgets {
        // Counts up while the window lasts and checks are left; a window that ended starts over.
        let row: Option<ThrottleWindow> = sqlx::query_as(
            "INSERT INTO login_throttle (key, checks, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             checks = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.checks + 1 END, \
             window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END \
             WHERE login_throttle.window_start <= $3 OR login_throttle.checks < $4 \
             RETURNING checks, window_start",
        )
        .bind(&b.key)
        .bind(now)
        .bind(ended)
        .bind(b.limit)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let start: i64 = sqlx::query_scalar("SELECT window_start FROM login_throttle WHERE key = $1").bind(&b.key).fetch_one(&mut *tx).await?;
            // Dropping the transaction rolls back the checks taken from earlier budgets.
            return Err(AppError::TooManyRequests { retry_after_s: seconds_until(start + WINDOW_MS, now) });
        };
        let left = b.limit - row.checks;
        if left < taken.left {
            taken = Taken { left, retry_after_s: seconds_until(row.window_start + WINDOW_MS, now) };
        }
    }
    tx.commit().await?;
    Ok(taken)
}

/// A right password gives the budgets back.
async fn clear_checks(state: &AppState, budgets: &[Budget]) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    for b in budgets {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(&b.key).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// One argon2 verification, whether or not there is a hash to check against (see
/// [`verify_password_async`]), counted in the metrics.
async fn password_matches(state: &AppState, password: &str, stored: Option<&str>) -> AppResult<bool> {
    state.metrics.password_checks.inc();
    verify_password_async(password, stored).await
}

/// Logs in with phone and password. Wrong phone and wrong password fail alike, in the same
/// time. Each attempt takes a check from the number's budgets first (see [`take_check`]).
pub async fn password_login(state: &AppState, phone: &str, password: &str, source: &ClientIp, user_agent: &str) -> AppResult<LoggedIn> {
    let phone = parse_phone(phone)?;
    if password.is_empty() {
        return Err(AppError::field("password", "required"));
    }
    let budgets = Budget::login(&phone, source);
    let taken = take_check(state, &budgets).await?;
    kernel::row! {
        /// A login with its password hash (none for SMS-only accounts).
        struct Credentials {
            id: UserId,
            password_hash: Option<String>,
        }
    }
    let row: Option<Credentials> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE phone = $1").bind(phone.as_str()).fetch_optional(&state.db.pool).await?;
    let (user_id, stored) = match row {
        Some(r) => (Some(r.id), r.password_hash),
        None => (None, None),
    };
    let matched = password_matches(state, password, stored.as_deref()).await?;
    let Some(user_id) = user_id.filter(|_| matched) else {
        state.metrics.login_failures.inc();
        return Err(taken.refusal(AppError::field("password", "login_failed")));
    };
    clear_checks(state, &budgets).await?;
    let token = create_session(state, user_id, user_agent).await?;
    Ok(LoggedIn { token, user_id })
}

/// Sends a one-time login code by SMS through the outbox. Unknown numbers get no text but
/// the same answer, so the form does not reveal who is registered.
pub async fn request_code(state: &AppState, phone: &str) -> AppResult<()> {
    let phone = parse_phone(phone)?;
    let now = state.now();
    let recent: Vec<i64> = sqlx::query_scalar("SELECT created_at FROM login_codes WHERE phone = $1 AND created_at > $2 ORDER BY created_at DESC")
        .bind(phone.as_str())
        .bind(now - 3_600_000)
        .fetch_all(&state.db.pool)
        .await?;
    if let Some(last) = recent.first() {
        if now - last < CODE_GAP_MS {
            return Err(AppError::TooManyRequests { retry_after_s: (CODE_GAP_MS - (now - last)) / 1000 + 1 });
        }
    }
    if recent.len() as i64 >= CODES_PER_HOUR {
        // Another code may go once the oldest of the hour's codes is an hour old.
        let oldest = recent.get(CODES_PER_HOUR as usize - 1).copied().unwrap_or(now);
        return Err(AppError::TooManyRequests { retry_after_s: ((oldest + 3_600_000 - now) + 999).max(1000) / 1000 });
    }
    kernel::row! {
        /// The login a code goes to, with the language to write it in.
        struct Recipient {
            id: UserId,
            locale: String,
        }
    }
    let user: Option<Recipient> =
        sqlx::query_as("SELECT id, locale FROM users WHERE phone = $1").bind(phone.as_str()).fetch_optional(&state.db.pool).await?;
    let code = random_digits(6);
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_codes (phone, code_hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) RETURNING id",
    )
    .bind(phone.as_str())
    .bind(hash_token(&format!("{}:{code}", phone.as_str())))
    .bind(now)
    .bind(now + CODE_TTL_MS)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(user) = user {
        let msg = Message {
            community_id: None,
            user_id: Some(user.id),
            channel: Channel::Sms,
            to: phone.as_str().to_string(),
            template: "login_code",
            params: vec![("code", code), ("minutes", (CODE_TTL_MS / 60_000).to_string())],
            secret_params: &["code"],
            link: None,
            locale: Locale::parse(&user.locale).unwrap_or_default(),
            idempotency_key: format!("login_code:{id}"),
        };
        notify::service::send(&mut tx, now, &msg).await?;
    }
    tx.commit().await
}

/// Logs in with a code from [`request_code`]. A code works once, for five minutes, and five
/// wrong tries use it up; with at most [`CODES_PER_HOUR`] codes that bounds the guesses, so this
/// path does not share the password budgets (an attacker who spends those does not lock the
/// owner out).
pub async fn code_login(state: &AppState, phone: &str, code: &str, user_agent: &str) -> AppResult<LoggedIn> {
    let phone = parse_phone(phone)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field("code", "code_format"));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // The try is counted before the code is compared, in one statement: parallel guesses at one
    // code cannot get more than CODE_TRIES comparisons between them, on either database.
    kernel::row! {
        /// The newest live code for the number, its try counted.
        struct ReservedCode {
            id: i64,
            code_hash: String,
        }
    }
    let reserved: Option<ReservedCode> = sqlx::query_as(
        "UPDATE login_codes SET attempts = attempts + 1 WHERE id = (SELECT id FROM login_codes WHERE phone = $1 AND used_at IS NULL AND expires_at > $2 \
         ORDER BY id DESC LIMIT 1) AND attempts < $3 RETURNING id, code_hash",
    )
    .bind(phone.as_str())
    .bind(now)
    .bind(CODE_TRIES)
    .fetch_optional(&mut *tx)
    .await?;
    let user_id: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE phone = $1")
        .bind(phone.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let matched = reserved.filter(|r| r.code_hash == hash_token(&format!("{}:{code}", phone.as_str()))).map(|r| r.id);
    if let (Some(code_id), Some(uid)) = (matched, user_id) {
        // A code logs in once, however many right guesses arrive together.
        let used = sqlx::query("UPDATE login_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(now).bind(code_id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if used == 1 {
            let token = create_session(state, uid, user_agent).await?;
            return Ok(LoggedIn { token, user_id: uid });
        }
    } else {
        tx.commit().await?;
    }
    state.metrics.login_failures.inc();
    Err(AppError::field("code", "code_wrong"))
}

/// A new account's details.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login phone number (validated).
    pub phone: &'a PhoneNumber,
    /// Name shown in the interface.
    pub display_name: &'a str,
    /// Initial password, if any (otherwise SMS login only).
    pub password: Option<&'a str>,
    /// Deployment-wide administrator.
    pub superadmin: bool,
}

/// Creates a user inside `tx`; a taken phone number is a 409 on `phone`.
pub async fn create_user(tx: &mut WriteTx, now: i64, new: &NewUser<'_>) -> AppResult<UserId> {
    let name = kernel::validate::required("display_name", new.display_name, 40)?;
    let hash = match new.password {
        Some(pw) => {
            check_password(pw)?;
            Some(hash_password_async(pw).await?)
        }
        None => None,
    };
    let id: UserId = sqlx::query_scalar(
        "INSERT INTO users (phone, display_name, password_hash, is_superadmin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(new.phone.as_str())
    .bind(name)
    .bind(hash)
    .bind(new.superadmin as i64)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Finds a user by phone number.
pub async fn user_by_phone(tx: &mut WriteTx, phone: &PhoneNumber) -> AppResult<Option<UserId>> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE phone = $1").bind(phone.as_str()).fetch_optional(&mut **tx).await?)
}

/// Grants `role` in `community_id` (no-op when already held).
pub async fn grant(tx: &mut WriteTx, now: i64, user_id: UserId, community_id: CommunityId, role: Role) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO memberships (user_id, community_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, community_id, role) DO NOTHING",
    )
    .bind(user_id)
    .bind(community_id)
    .bind(role.code())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes `role` in `community_id` away (no-op when not held).
pub async fn revoke(tx: &mut WriteTx, user_id: UserId, community_id: CommunityId, role: Role) -> AppResult<()> {
    sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND community_id = $2 AND role = $3")
        .bind(user_id)
        .bind(community_id)
        .bind(role.code())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Creates (or promotes) a deployment administrator; used by `linli admin create`.
pub async fn create_admin(state: &AppState, phone: &str, name: &str, password: &str) -> AppResult<UserId> {
    let phone = parse_phone(phone)?;
    check_password(password)?;
    let hash = hash_password_async(password).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = match user_by_phone(&mut tx, &phone).await? {
        Some(id) => {
            sqlx::query("UPDATE users SET is_superadmin = 1, password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => create_user(&mut tx, now, &NewUser { phone: &phone, display_name: name, password: Some(password), superadmin: true }).await?,
    };
    tx.commit().await?;
    state.sessions.invalidate_user(id);
    Ok(id)
}

/// Changes a user's language and/or elder mode.
pub async fn set_preferences(state: &AppState, user_id: UserId, locale: Option<Locale>, elder_mode: Option<bool>) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    if let Some(l) = locale {
        sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3").bind(l.tag()).bind(state.now()).bind(user_id).execute(&mut *tx).await?;
    }
    if let Some(e) = elder_mode {
        sqlx::query("UPDATE users SET elder_mode = $1, updated_at = $2 WHERE id = $3").bind(e as i64).bind(state.now()).bind(user_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    state.sessions.invalidate_user(user_id);
    Ok(())
}

/// Changes a password after checking the current one (an account without one, SMS-only, sets
/// its first). Current passwords spend a budget as logins do. The change ends every session of
/// the user, so whoever is logged in elsewhere is out; the caller starts a new one for the
/// person who made it.
pub async fn change_password(state: &AppState, user_id: UserId, current: &str, new: &str) -> AppResult<()> {
    check_password(new)?;
    let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?;
    if let Some(stored) = stored {
        let budget = Budget::password_change(user_id);
        let taken = take_check(state, &budget).await?;
        if !password_matches(state, current, Some(&stored)).await? {
            return Err(taken.refusal(AppError::field("current_password", "login_failed")));
        }
        clear_checks(state, &budget).await?;
    }
    let hash = hash_password_async(new).await?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(state.now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    kernel::auth::end_all_sessions(&mut tx, user_id).await?;
    tx.commit().await?;
    state.sessions.invalidate_user(user_id);
    Ok(())
}
