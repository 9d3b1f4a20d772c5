//! The demo community's case history: three months of reports from every channel, most answered
//! and resolved (some late, a few rated unsatisfied), a handful still open, so that the queue,
//! the public ledger, its plan and its figures look like a working community's.

use kernel::auth::UserId;
use registry::BuildingId;
use crate::domain::{CaseId, State, default_sla};
use kernel::clock::{DAY, HOUR, MINUTE};
use kernel::crypto::{hash_token, random_token};
use kernel::error::AppResult;
use kernel::manifest::DemoContext;
use kernel::state::AppState;

/// Reports as residents, grid workers and callers word them.
const REPORTS: &[&str] = &[
    "3栋2单元楼道的声控灯坏了，晚上下楼看不见",
    "小区东门口垃圾桶满了没人清，味道很大",
    "5栋门口的路灯不亮了好几天",
    "楼上卫生间漏水，我家天花板都湿了",
    "电动车停在楼道里充电，很危险",
    "绿化带里杂草太高了，有蚊子",
    "单元门禁坏了，门关不上",
    "小区路面有个坑，老人走路容易绊倒",
    "想问一下居住证明怎么开",
    "楼下烧烤店油烟太大，窗户都不敢开",
    "独居的王奶奶想请人帮忙买菜",
    "井盖松了，踩上去会晃",
    "健身器材的螺丝掉了，小孩玩很危险",
    "隔壁装修中午也在电钻，吵得没法休息",
    "建议在小区里多放几张长椅",
    "感谢网格员上周帮我家老人送药",
    "雨水井堵了，一下雨门口就积水",
    "楼道里堆了很多纸箱和旧家具",
    "8栋的电梯按钮失灵，按了没反应",
    "小区流浪猫太多，晚上叫得厉害",
    "老年证到期了，怎么续办",
    "希望社区组织一次防诈骗讲座",
    "有人在小区里发小广告，贴得到处都是",
    "家里老人行动不便，想申请上门体检",
    "车库入口的减速带坏了",
    "水管爆了，整个单元都停水了",
    "下水道反水，卫生间地漏往外冒脏水",
    "楼顶的空调外机架子松了，怕掉下来",
    "邻居家的狗每天在楼道里便溺",
    "医保报销需要什么材料",
];

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// How many past cases the demo gets.
const CASES: u64 = 160;

/// Seeds the demo community's cases.
pub async fn seed(state: &AppState, ctx: &DemoContext) -> AppResult<()> {
    let now = state.now();
    let mut rng = Lcg(20_261_128);
    let mut buildings: Vec<(BuildingId, Option<UserId>)> = Vec::new();
    for b in registry::places::buildings_of(&state.db.pool, ctx.community_id).await? {
        let worker = match b.grid_id {
            Some(g) => registry::places::first_grid_worker(&state.db.pool, g).await?,
            None => None,
        };
        buildings.push((b.id, worker));
    }
    let staff: Option<UserId> =
        kernel::people::with_roles(&state.db.pool, ctx.community_id, &[kernel::auth::Role::Staff]).await?.first().map(|(id, _)| *id);
    if buildings.is_empty() {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    for i in 0..CASES {
        // Spread over 90 days; the last few are from the past hour and still open.
        let fresh = i >= CASES - 4;
        let created = if fresh {
            now - (CASES - i) as i64 * 10 * MINUTE
        } else {
            now - 90 * DAY + (i as i64 * 90 * DAY / CASES as i64) + rng.below(6) as i64 * HOUR
        };
        let text = REPORTS[rng.below(REPORTS.len() as u64) as usize];
        let t = triage::classify(text);
        let sla = default_sla(t.urgency);
        let (building, worker) = buildings[rng.below(buildings.len() as u64) as usize];
        let source = [
            "resident",
            "resident",
            "resident",
            "grid_worker",
            "phone",
            "window",
        ][rng.below(6) as usize];
        let entered_by = match source {
            "grid_worker" => worker,
            "phone" | "window" => staff,
            _ => None,
        };
        let roll = rng.below(100);
        let first_at = (!fresh && roll < 92)
            .then(|| created + (5 + rng.below(if roll < 80 { 110 } else { 300 })) as i64 * MINUTE);
        let resolved_at = first_at
            .filter(|_| roll < 84)
            .map(|f| f + (1 + rng.below(if roll < 70 { 20 } else { 60 })) as i64 * HOUR)
            .filter(|r| *r < now);
        // Older cases are finished; the past week's are still being worked on.
        let recent = now - created < 7 * DAY;
        let state_now = match (first_at, resolved_at) {
            (None, _) if !fresh && roll >= 97 => State::Withdrawn,
            (None, _) if fresh || recent => State::New,
            (None, _) => State::Withdrawn,
            (Some(_), None) if roll >= 88 => State::NotOurs,
            (Some(_), None) if recent => State::InProgress,
            (Some(_), None) => State::NotOurs,
            (Some(_), Some(r)) if now - r > 3 * DAY => State::Closed,
            (Some(_), Some(r)) if now - r > DAY => State::Verified,
            (Some(_), Some(_)) => State::Resolved,
        };
        let closed_at = match state_now {
            State::Closed => resolved_at.map(|r| r + 2 * DAY),
            State::NotOurs => first_at.map(|f| f + HOUR),
            State::Withdrawn => Some(created + 30 * MINUTE),
            _ => None,
        };
        let anonymous = source == "resident";
        let id: CaseId = sqlx::query_scalar(
            "INSERT INTO cases (community_id, source, author_user_id, anonymous, follow_token_hash, text, place, building_id, urgency, category, \
             triage_reasons, state, first_response_due, result_due, first_response_at, resolved_at, closed_at, created_at, updated_at, \
             entered_by, owner_user_id, assignee_user_id, private, search_text) \
             VALUES ($1, $2, NULL, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20, $21) RETURNING id",
        )
        .bind(ctx.community_id)
        .bind(source)
        .bind(anonymous as i64)
        .bind(anonymous.then(|| hash_token(&random_token(24))))
        .bind(text)
        .bind(building)
        .bind(t.urgency.code())
        .bind(t.category.code())
        .bind(serde_json::to_string(&t.reasons).map_err(kernel::AppError::internal)?)
        .bind(state_now.code())
        .bind(created + sla.first_response_ms)
        .bind(created + sla.result_ms)
        .bind(first_at)
        .bind(resolved_at)
        .bind(closed_at)
        .bind(created)
        .bind(closed_at.or(resolved_at).or(first_at).unwrap_or(created))
        .bind(entered_by)
        .bind(worker)
        .bind((t.category == triage::Category::Care) as i64)
        .bind(crate::store::search_text(text, "", &crate::store::building_words(&state.db, Some(building), None).await?))
        .fetch_one(&mut *tx)
        .await?;
        let mut steps = vec![(created, State::New, "")];
        if let Some(f) = first_at {
            steps.push((f, State::Acknowledged, "已电话联系反映人，说明了处理安排"));
        }
        if let Some(r) = resolved_at {
            steps.push((r, State::Resolved, "已处理完毕"));
        }
        match state_now {
            State::Verified | State::Closed => steps.push((
                resolved_at.unwrap_or(created) + DAY,
                State::Verified,
                "网格员现场核查",
            )),
            State::InProgress => {
                steps.push((first_at.unwrap_or(created) + HOUR, State::InProgress, ""))
            }
            _ => {}
        }
        if let Some(c) = closed_at {
            steps.push((c, state_now, ""));
        }
        for (at, st, note) in steps {
            sqlx::query("INSERT INTO case_events (case_id, at, actor_user_id, kind, state, note) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id)
                .bind(at)
                .bind(if st == State::New { None } else { staff })
                .bind(if st == State::New { "filed" } else { "moved" })
                .bind(st.code())
                .bind(note)
                .execute(&mut *tx)
                .await?;
        }
        // Most residents rate the result; most are satisfied.
        if let Some(r) = resolved_at.filter(|_| rng.below(100) < 75) {
            let solved = rng.below(100) < 90;
            let satisfaction = match rng.below(100) {
                0..=69 => "satisfied",
                70..=89 => "basic",
                _ => "unsatisfied",
            };
            sqlx::query(
                "INSERT INTO case_ratings (case_id, token_hash, created_at, expires_at, used_at, solved, satisfaction, comment) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '')",
            )
            .bind(id)
            .bind(hash_token(&random_token(18)))
            .bind(r)
            .bind(r + 7 * DAY)
            .bind(r + (1 + rng.below(40)) as i64 * HOUR)
            .bind(solved as i64)
            .bind(satisfaction)
            .execute(&mut *tx)
            .await?;
        }
        if fresh {
            crate::clocks::enqueue_clocks(
                &mut tx,
                now,
                id,
                &[
                    (crate::clocks::Clock::FirstResponse, created, created + sla.first_response_ms),
                    (crate::clocks::Clock::Result, created, created + sla.result_ms),
                ],
            )
            .await?;
        }
    }
    tx.commit().await
}
