//! Who works in a community: granting and revoking roles, and assigning grid workers to grids.

use kernel::auth::{Permission, Principal, Role, UserId};
use crate::GridId;
use crate::domain::STRUCTURE_WRITE;
use crate::store::Community;
use kernel::audit;
use kernel::crypto::PhoneNumber;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::{Deserialize, Serialize};

/// Grant and revoke roles (administrators only).
pub const MEMBERS_WRITE: Permission = Permission { name: "registry.members.write", roles: &[Role::Admin] };
/// See who holds which role.
pub const MEMBERS_READ: Permission = Permission { name: "registry.members.read", roles: &[Role::Admin, Role::Staff] };

/// A person holding a role in the community.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    /// User id.
    pub user_id: UserId,
    /// Display name.
    pub display_name: String,
    /// Masked phone.
    pub phone: String,
    /// Role.
    pub role: Role,
    /// Grids (for grid workers).
    pub grids: Vec<GridId>,
}

/// The members of a community with a staff-side or liaison role (residents are in the registry).
pub async fn list(state: &AppState, p: &Principal, c: &Community) -> AppResult<Vec<Member>> {
    p.require(c.id, &MEMBERS_READ)?;
    kernel::row! {
        /// A member's login and role.
        struct Listed {
            user_id: UserId,
            display_name: String,
            phone: String,
            role: String,
        }
    }
    kernel::row! {
        /// A grid worker's grid.
        struct Assigned {
            user_id: UserId,
            grid_id: GridId,
        }
    }
    let rows: Vec<Listed> = sqlx::query_as(
        "SELECT u.id AS user_id, u.display_name, u.phone, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role <> 'resident' ORDER BY m.role, u.id",
    )
    .bind(c.id)
    .fetch_all(&state.db.pool)
    .await?;
    let grids: Vec<Assigned> = sqlx::query_as("SELECT gs.user_id, gs.grid_id FROM grid_staff gs JOIN grids g ON g.id = gs.grid_id WHERE g.community_id = $1")
        .bind(c.id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let role = Role::parse(r.role.as_str()).ok_or_else(|| AppError::internal(format!("stored role {}", r.role)))?;
            let user_id = r.user_id;
            let grids = if role == Role::GridWorker {
                grids.iter().filter(|g| g.user_id == user_id).map(|g| g.grid_id).collect()
            } else {
                Vec::new()
            };
            Ok(Member { user_id, display_name: r.display_name, phone: kernel::crypto::mask_phone(&r.phone), role, grids })
        })
        .collect::<AppResult<_>>()?)
}

/// A role to grant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    /// The person's mobile number (an account is created if none exists; they log in by SMS code).
    pub phone: String,
    /// Their name, used when the account is new.
    pub display_name: String,
    /// Role to grant.
    pub role: Role,
}

/// Grants a role, creating the account when the number is new.
pub async fn grant(state: &AppState, p: &Principal, c: &Community, g: &Grant) -> AppResult<UserId> {
    p.require(c.id, &MEMBERS_WRITE)?;
    let phone = PhoneNumber::parse(&g.phone).map_err(|code| AppError::field("phone", code))?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let user_id = match accounts::service::user_by_phone(&mut tx, &phone).await? {
        Some(id) => id,
        None => {
            let new = accounts::service::NewUser { phone: &phone, display_name: &g.display_name, password: None, superadmin: false };
            accounts::service::create_user(&mut tx, now, &new).await?
        }
    };
    accounts::service::grant(&mut tx, now, user_id, c.id, g.role).await?;
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "membership", user_id, "grant", &serde_json::json!({"role": g.role.code()})).await?;
    tx.commit().await?;
    state.sessions.invalidate_user(user_id);
    Ok(user_id)
}

/// Revokes a role (and, for grid workers, their grid assignments in this community).
pub async fn revoke(state: &AppState, p: &Principal, c: &Community, user_id: UserId, role: Role) -> AppResult<()> {
    p.require(c.id, &MEMBERS_WRITE)?;
    if p.user_id == Some(user_id) && role == Role::Admin {
        return Err(AppError::field("role", "cannot_revoke_self"));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let gone = sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND community_id = $2 AND role = $3")
        .bind(user_id)
        .bind(c.id)
        .bind(role.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    if role == Role::GridWorker {
        sqlx::query("DELETE FROM grid_staff WHERE user_id = $1 AND grid_id IN (SELECT id FROM grids WHERE community_id = $2)")
            .bind(user_id)
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
    }
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "membership", user_id, "revoke", &serde_json::json!({"role": role.code()})).await?;
    tx.commit().await?;
    state.sessions.invalidate_user(user_id);
    Ok(())
}

/// Creates a grid.
pub async fn create_grid(state: &AppState, p: &Principal, c: &Community, name: &str) -> AppResult<GridId> {
    p.require(c.id, &STRUCTURE_WRITE)?;
    let name = kernel::validate::required("name", name, 40)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id: GridId = sqlx::query_scalar("INSERT INTO grids (community_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(c.id)
        .bind(name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| AppError::from(e).on_conflict("name", "taken"))?;
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "grid", id, "create", &serde_json::json!({"name": name})).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces the grid workers assigned to a grid; each must hold the grid_worker role here.
pub async fn assign_workers(state: &AppState, p: &Principal, c: &Community, grid_id: GridId, user_ids: &[i64]) -> AppResult<()> {
    p.require(c.id, &STRUCTURE_WRITE)?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM grids WHERE id = $1 AND community_id = $2")
        .bind(grid_id)
        .bind(c.id)
        .fetch_optional(&state.db.pool)
        .await?;
    exists.ok_or(AppError::NotFound)?;
    if user_ids.len() > 50 {
        return Err(AppError::Validation(vec![kernel::FieldError::new("user_ids", "too_many").arg("max", 50)]));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    for uid in user_ids {
        let is_worker: Option<i64> = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1 AND community_id = $2 AND role = 'grid_worker'")
            .bind(uid)
            .bind(c.id)
            .fetch_optional(&mut *tx)
            .await?;
        if is_worker.is_none() {
            return Err(AppError::field("user_ids", "not_a_grid_worker"));
        }
    }
    sqlx::query("DELETE FROM grid_staff WHERE grid_id = $1").bind(grid_id).execute(&mut *tx).await?;
    for uid in user_ids {
        sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2) ON CONFLICT (grid_id, user_id) DO NOTHING")
            .bind(grid_id)
            .bind(uid)
            .execute(&mut *tx)
            .await?;
    }
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "grid", grid_id, "assign", &serde_json::json!({"user_ids": user_ids})).await?;
    tx.commit().await
}
