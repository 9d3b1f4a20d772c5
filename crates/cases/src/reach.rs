//! Which cases a person on the staff side may handle. Staff and admins handle every case of
//! their community; a grid worker handles the cases of the buildings in their own grids, and
//! those they entered or that are assigned to them. To anyone else a case out of reach does not
//! exist: it is answered as not found, in every read, queue, move and photo path.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use crate::domain::CASES_HANDLE;
use registry::BuildingId;
use kernel::error::AppResult;
use kernel::state::AppState;

/// The cases of one community a person may handle.
#[derive(Debug, Clone)]
pub struct Reach {
    /// The buildings they are limited to; `None` for every case of the community.
    buildings: Option<Vec<BuildingId>>,
    /// The person (not an API key): the cases they entered or hold are theirs wherever they are.
    user: Option<UserId>,
}

/// Where a case stands, as far as reach is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Whereabouts {
    /// Its building.
    pub building: Option<BuildingId>,
    /// Who entered it on the staff side.
    pub entered_by: Option<UserId>,
    /// Who holds it.
    pub assignee: Option<UserId>,
}

/// What `p` may handle in `community_id`, or `None` when they may handle no case there.
pub async fn of(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Option<Reach>> {
    if !p.can(community_id, &CASES_HANDLE) {
        return Ok(None);
    }
    let buildings = registry::places::buildings_in_reach(state, p, community_id).await?;
    Ok(Some(Reach {
        buildings,
        user: p.user_id,
    }))
}

/// Whether `p` may handle a case of `community_id` in these whereabouts.
pub async fn covers(
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    w: Whereabouts,
) -> AppResult<bool> {
    Ok(of(state, p, community_id)
        .await?
        .is_some_and(|r| r.covers(w)))
}

impl Reach {
    /// Whether a case in these whereabouts is within reach.
    pub fn covers(&self, w: Whereabouts) -> bool {
        let Some(buildings) = &self.buildings else {
            return true;
        };
        w.building.is_some_and(|b| buildings.contains(&b))
            || (self.user.is_some() && (w.entered_by == self.user || w.assignee == self.user))
    }

    /// A condition to add to a query over `cases` (as `alias`) that keeps the cases within reach:
    /// empty for everyone without a limit. Only numbers are written into it.
    pub fn sql(&self, alias: &str) -> String {
        self.condition(alias).map(|c| format!(" AND {c}")).unwrap_or_default()
    }

    /// The condition alone, `None` for everyone without a limit. Only numbers are written into it.
    pub fn condition(&self, alias: &str) -> Option<String> {
        let buildings = self.buildings.as_ref()?;
        let mut any = Vec::new();
        if !buildings.is_empty() {
            let list: Vec<String> = buildings.iter().map(BuildingId::to_string).collect();
            any.push(format!("{alias}.building_id IN ({})", list.join(",")));
        }
        if let Some(u) = self.user {
            any.push(format!("{alias}.entered_by = {u}"));
            any.push(format!("{alias}.assignee_user_id = {u}"));
        }
        Some(if any.is_empty() { "1 = 0".to_string() } else { format!("({})", any.join(" OR ")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_worker_reaches_their_buildings_and_their_own_cases_only() {
        let r = Reach {
            buildings: Some(vec![BuildingId::new(3), BuildingId::new(4)]),
            user: Some(UserId::new(7)),
        };
        let at = |building: Option<i64>, entered_by: Option<i64>, assignee: Option<i64>| Whereabouts {
            building: building.map(BuildingId::new),
            entered_by: entered_by.map(UserId::new),
            assignee: assignee.map(UserId::new),
        };
        assert!(r.covers(at(Some(3), None, None)));
        assert!(!r.covers(at(Some(5), None, None)));
        assert!(!r.covers(at(None, None, None)));
        assert!(r.covers(at(Some(5), Some(7), None)));
        assert!(r.covers(at(None, None, Some(7))));
        assert_eq!(
            r.sql("c"),
            " AND (c.building_id IN (3,4) OR c.entered_by = 7 OR c.assignee_user_id = 7)"
        );
        let key = Reach {
            buildings: Some(vec![]),
            user: None,
        };
        assert!(!key.covers(at(Some(3), None, None)));
        assert_eq!(key.sql("c"), " AND 1 = 0");
        let staff = Reach {
            buildings: None,
            user: Some(UserId::new(1)),
        };
        assert!(staff.covers(at(None, None, None)));
        assert_eq!(staff.sql("c"), "");
    }
}
