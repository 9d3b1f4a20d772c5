//! Accounts: users, logins by password or SMS code, throttling and lockout, preferences.

use kernel::auth::{create_session, Role};
use kernel::crypto::{hash_password, hash_token, random_digits, verify_password, PhoneNumber};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult, FieldError};
use kernel::i18n::Locale;
use kernel::state::AppState;
use notify::{Channel, Message};
use sqlx::Row;

/// Failed attempts allowed within [`WINDOW_MS`] before a phone number is locked.
pub const MAX_FAILURES: i64 = 5;
/// Window in which failures are counted, and how long a lock lasts.
pub const WINDOW_MS: i64 = 15 * 60_000;
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
    pub user_id: i64,
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

async fn check_not_locked(state: &AppState, key: &str) -> AppResult<()> {
    let locked: Option<Option<i64>> = sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(Some(until)) = locked {
        let now = state.now();
        if until > now {
            return Err(AppError::TooManyRequests { retry_after_s: (until - now + 999) / 1000 });
        }
    }
    Ok(())
}

/// Counts a failure; the fifth within the window locks the key.
async fn record_failure(state: &AppState, key: &str) -> AppResult<()> {
    state.metrics.login_failures.inc();
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query("SELECT failures, window_start FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let (failures, window_start) = match row {
        Some(r) if now - r.get::<i64, _>(1) < WINDOW_MS => (r.get::<i64, _>(0) + 1, r.get::<i64, _>(1)),
        _ => (1, now),
    };
    let locked_until = (failures >= MAX_FAILURES).then_some(now + WINDOW_MS);
    let (failures, window_start) = if locked_until.is_some() { (0, now) } else { (failures, window_start) };
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, \
         locked_until = COALESCE(excluded.locked_until, login_throttle.locked_until)",
    )
    .bind(key)
    .bind(failures)
    .bind(window_start)
    .bind(locked_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(until) = locked_until {
        return Err(AppError::TooManyRequests { retry_after_s: (until - now) / 1000 });
    }
    Ok(())
}

async fn clear_failures(state: &AppState, key: &str) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(&mut *tx).await?;
    tx.commit().await
}

/// Logs in with phone and password. Wrong phone and wrong password fail alike.
pub async fn password_login(state: &AppState, phone: &str, password: &str, user_agent: &str) -> AppResult<LoggedIn> {
    let phone = parse_phone(phone)?;
    if password.is_empty() {
        return Err(AppError::field("password", "required"));
    }
    let key = format!("phone:{}", phone.as_str());
    check_not_locked(state, &key).await?;
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE phone = $1")
        .bind(phone.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
    let user_id = match row {
        Some(r) => {
            let hash: Option<String> = r.get(1);
            let ok = hash.as_deref().is_some_and(|h| verify_password(password, h));
            ok.then(|| r.get::<i64, _>(0))
        }
        None => {
            // Spend the same effort as a real check, so timing does not reveal who is registered.
            static DUMMY: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| hash_password("not-a-real-password").unwrap_or_default());
            let _ = verify_password(password, &DUMMY);
            None
        }
    };
    let Some(user_id) = user_id else {
        record_failure(state, &key).await?;
        return Err(AppError::field("password", "login_failed"));
    };
    clear_failures(state, &key).await?;
    let token = create_session(state, user_id, user_agent).await?;
    Ok(LoggedIn { token, user_id })
}

/// Sends a one-time login code by SMS through the outbox. Unknown numbers get no text but
/// the same answer, so the form does not reveal who is registered.
pub async fn request_code(state: &AppState, phone: &str) -> AppResult<()> {
    let phone = parse_phone(phone)?;
    let key = format!("phone:{}", phone.as_str());
    check_not_locked(state, &key).await?;
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
        return Err(AppError::TooManyRequests { retry_after_s: 3600 });
    }
    let user = sqlx::query("SELECT id, locale FROM users WHERE phone = $1")
        .bind(phone.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
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
            user_id: Some(user.get(0)),
            channel: Channel::Sms,
            to: phone.as_str().to_string(),
            template: "login_code",
            params: vec![("code", code), ("minutes", (CODE_TTL_MS / 60_000).to_string())],
            link: None,
            locale: Locale::parse(user.get::<String, _>(1).as_str()).unwrap_or_default(),
            idempotency_key: format!("login_code:{id}"),
        };
        notify::service::send(&mut tx, now, &msg).await?;
    }
    tx.commit().await
}

/// Logs in with a code from [`request_code`]. A code works once, for five minutes, and five
/// wrong tries use it up.
pub async fn code_login(state: &AppState, phone: &str, code: &str, user_agent: &str) -> AppResult<LoggedIn> {
    let phone = parse_phone(phone)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field("code", "code_format"));
    }
    let key = format!("phone:{}", phone.as_str());
    check_not_locked(state, &key).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(
        "SELECT id, code_hash, attempts FROM login_codes WHERE phone = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(phone.as_str())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE phone = $1")
        .bind(phone.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let matched = match &row {
        Some(r) if r.get::<i64, _>(2) < MAX_FAILURES => {
            r.get::<String, _>(1) == hash_token(&format!("{}:{code}", phone.as_str()))
        }
        _ => false,
    };
    match (row, user_id, matched) {
        (Some(r), Some(uid), true) => {
            sqlx::query("UPDATE login_codes SET used_at = $1 WHERE id = $2").bind(now).bind(r.get::<i64, _>(0)).execute(&mut *tx).await?;
            tx.commit().await?;
            clear_failures(state, &key).await?;
            let token = create_session(state, uid, user_agent).await?;
            Ok(LoggedIn { token, user_id: uid })
        }
        (row, _, _) => {
            if let Some(r) = row {
                sqlx::query("UPDATE login_codes SET attempts = attempts + 1 WHERE id = $1").bind(r.get::<i64, _>(0)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            record_failure(state, &key).await?;
            Err(AppError::field("code", "code_wrong"))
        }
    }
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
pub async fn create_user(tx: &mut WriteTx, now: i64, new: &NewUser<'_>) -> AppResult<i64> {
    let name = new.display_name.trim();
    if name.is_empty() {
        return Err(AppError::field("display_name", "required"));
    }
    let hash = match new.password {
        Some(pw) => {
            check_password(pw)?;
            Some(hash_password(pw)?)
        }
        None => None,
    };
    let id: i64 = sqlx::query_scalar(
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
pub async fn user_by_phone(tx: &mut WriteTx, phone: &PhoneNumber) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE phone = $1").bind(phone.as_str()).fetch_optional(&mut **tx).await?)
}

/// Grants `role` in `community_id` (no-op when already held).
pub async fn grant(tx: &mut WriteTx, now: i64, user_id: i64, community_id: i64, role: Role) -> AppResult<()> {
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

/// Creates (or promotes) a deployment administrator; used by `linli admin create`.
pub async fn create_admin(state: &AppState, phone: &str, name: &str, password: &str) -> AppResult<i64> {
    let phone = parse_phone(phone)?;
    check_password(password)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = match user_by_phone(&mut tx, &phone).await? {
        Some(id) => {
            sqlx::query("UPDATE users SET is_superadmin = 1, password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash_password(password)?)
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
pub async fn set_preferences(state: &AppState, user_id: i64, locale: Option<Locale>, elder_mode: Option<bool>) -> AppResult<()> {
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

/// Changes a password after checking the current one.
pub async fn change_password(state: &AppState, user_id: i64, current: &str, new: &str) -> AppResult<()> {
    let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?;
    if let Some(stored) = stored {
        if !verify_password(current, &stored) {
            return Err(AppError::field("current_password", "login_failed"));
        }
    }
    check_password(new)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash_password(new)?)
        .bind(state.now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
