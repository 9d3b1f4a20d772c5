//! The demo community, 南京人家社区, faithful to the seed description: 32 buildings in four
//! grids (翠微新村 among them), a few hundred households with elders living alone, families
//! and renters, and one login per role.

use crate::domain::{ResidentInput, Tag};
use crate::service::{self, Placement};
use kernel::auth::Role;
use kernel::crypto::{IdCardNumber, PhoneNumber};
use kernel::error::AppResult;
use kernel::manifest::DemoContext;
use kernel::state::AppState;

/// Password of every demo login.
pub const DEMO_PASSWORD: &str = "linli2026";

/// `(role, phone, name)` of the demo logins.
pub const DEMO_LOGINS: &[(Role, &str, &str)] = &[
    (Role::Admin, "13900000000", "陈主任"),
    (Role::Staff, "13900000001", "周晓梅"),
    (Role::GridWorker, "13900000002", "刘建军"),
    (Role::Liaison, "13900000003", "孙玉兰"),
    (Role::Volunteer, "13900000004", "吴浩然"),
    (Role::Merchant, "13900000005", "马师傅家政"),
    (Role::Resident, "13900000006", "李秀英"),
    (Role::Family, "13900000007", "张伟"),
];

/// A small deterministic generator, so every demo looks the same.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧"];
const MEN_OLD: &[&str] = &["建国", "国华", "德明", "志刚", "福生", "长林", "保国", "金海", "永康", "荣华"];
const WOMEN_OLD: &[&str] = &["秀英", "桂英", "玉兰", "秀兰", "淑珍", "凤英", "桂兰", "月琴", "素珍", "美华"];
const MEN: &[&str] = &["伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "海波", "立新", "文斌", "晓东", "俊"];
const WOMEN: &[&str] = &["丽", "敏", "静", "婷", "芳", "娟", "霞", "萍", "雪梅", "晓燕", "丹", "琳", "倩", "颖", "慧"];
const KIDS: &[&str] = &["子涵", "浩然", "梓萱", "一诺", "欣怡", "宇轩", "思远", "雨桐", "梓睿", "诗涵"];

/// The 32 building groups: `(name, grid, floors, lift)`.
fn buildings() -> Vec<(String, &'static str, i64, bool)> {
    let mut out = Vec::new();
    for n in 1..=12 {
        out.push((format!("翠微新村 {n}栋"), if n <= 8 { "第一网格" } else { "第二网格" }, 6, false));
    }
    for n in 1..=8 {
        out.push((format!("南苑小区 {n}栋"), if n <= 4 { "第二网格" } else { "第三网格" }, 7, false));
    }
    for n in 1..=12 {
        out.push((format!("锦绣花园 {n}栋"), if n <= 4 { "第三网格" } else { "第四网格" }, if n % 3 == 0 { 26 } else { 18 }, true));
    }
    out
}

fn id_number(rng: &mut Lcg, birth_year: i64, female: bool) -> IdCardNumber {
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let place = rng.below(100);
    let seq = rng.below(5) * 2 + if female { 0 } else { 1 };
    IdCardNumber::with_check_digit(&format!("320102{birth_year}{month:02}{day:02}{place:02}{seq}"))
}

/// Generates demo people.
struct People {
    rng: Lcg,
    phones: u32,
    year: i64,
}

impl People {
    /// A person aged `min_age` to `min_age + span - 1`; `female` `None` picks at random;
    /// six in ten adults get a phone number from a reserved demo range.
    fn person(&mut self, min_age: i64, span: u64, female: Option<bool>, relation: &str, mut tags: Vec<Tag>) -> ResidentInput {
        let rng = &mut self.rng;
        let age = min_age + rng.below(span.max(1)) as i64;
        let female = female.unwrap_or_else(|| rng.below(2) == 0);
        let surname = rng.pick(SURNAMES);
        let given = match (age, female) {
            (0..=17, _) => rng.pick(KIDS),
            (60.., true) => rng.pick(WOMEN_OLD),
            (60.., false) => rng.pick(MEN_OLD),
            (_, true) => rng.pick(WOMEN),
            (_, false) => rng.pick(MEN),
        };
        if age < 18 {
            tags.push(Tag::Child);
        }
        let phone = if age >= 18 && rng.below(10) < 6 {
            self.phones += 1;
            PhoneNumber::parse(&format!("170{:08}", 1000 + self.phones)).ok()
        } else {
            None
        };
        ResidentInput {
            name: format!("{surname}{given}"),
            phone,
            id_number: Some(id_number(&mut self.rng, self.year - age, female)),
            relation: relation.to_string(),
            tags,
            notes: String::new(),
        }
    }
}

/// Seeds the registry part of the demo community.
pub async fn seed(state: &AppState, ctx: &DemoContext) -> AppResult<()> {
    let now = state.now();
    let mut gen = People { rng: Lcg(20_240_601), phones: 0, year: 2026 };
    let mut tx = state.db.begin_write().await?;
    let c = ctx.community_id;
    for (b_index, (name, grid, floors, lift)) in buildings().into_iter().enumerate() {
        let grid_id = service::ensure_grid(&mut tx, now, c, grid).await?;
        let estate = name.split_whitespace().next().unwrap_or("").to_string();
        sqlx::query(
            "INSERT INTO buildings (community_id, grid_id, name, estate, floors, has_elevator, plan_x, plan_y, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(c)
        .bind(grid_id)
        .bind(&name)
        .bind(&estate)
        .bind(floors)
        .bind(lift as i64)
        .bind((b_index % 8) as i64)
        .bind((b_index / 8) as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let old_estate = !lift;
        for h in 0..10u64 {
            let unit = format!("{}单元", 1 + h / 5);
            let room = format!("{}0{}", 1 + (h % 5), 1 + (h % 2));
            let at = Placement { building: name.clone(), unit, room };
            // 李秀英 lives in 翠微新村 3栋 1单元 201, as in the seed story; her login is seeded below.
            if name == "翠微新村 3栋" && h == 1 {
                continue;
            }
            let (household, _) = service::place(&mut tx, now, c, &at, None).await?;
            let kind = gen.rng.below(100);
            let members: Vec<ResidentInput> = if old_estate && kind < 14 {
                // An elder living alone.
                let female = gen.rng.below(3) > 0;
                vec![gen.person(66, 22, Some(female), "户主", vec![Tag::LivingAlone])]
            } else if old_estate && kind < 40 {
                // An elderly couple.
                vec![gen.person(64, 16, Some(false), "户主", vec![]), gen.person(62, 16, Some(true), "配偶", vec![])]
            } else if kind < 58 {
                // Renters, often young office workers.
                let n = 1 + gen.rng.below(2);
                (0..n).map(|i| gen.person(23, 12, None, if i == 0 { "租户" } else { "合租" }, vec![Tag::Renter])).collect()
            } else {
                // A family: parents, a child, sometimes a grandparent.
                let mut fam = vec![
                    gen.person(33, 14, Some(false), "户主", vec![]),
                    gen.person(31, 14, Some(true), "配偶", vec![]),
                    gen.person(3, 12, None, "子女", vec![]),
                ];
                if gen.rng.below(3) == 0 {
                    fam.push(gen.person(65, 15, Some(true), "母亲", vec![]));
                }
                if gen.rng.below(12) == 0 {
                    fam[0].tags.push(Tag::PartyMember);
                }
                fam
            };
            for mut m in members {
                if gen.rng.below(40) == 0 {
                    m.tags.push(Tag::Disabled);
                }
                if gen.rng.below(25) == 0 {
                    m.tags.push(Tag::LowIncome);
                }
                service::insert_resident(&mut tx, state, None, c, household, m).await?;
            }
        }
    }
    // The logins, one per role.
    let mut user_ids = Vec::new();
    for (role, phone, name) in DEMO_LOGINS {
        let phone = PhoneNumber::parse(phone).expect("demo phone");
        let new = accounts::service::NewUser { phone: &phone, display_name: name, password: Some(DEMO_PASSWORD), superadmin: false };
        let uid = accounts::service::create_user(&mut tx, now, &new).await?;
        accounts::service::grant(&mut tx, now, uid, c, *role).await?;
        user_ids.push((*role, uid));
    }
    let uid = |r: Role| user_ids.iter().find(|(role, _)| *role == r).map(|(_, id)| *id).expect("demo login");
    // 李秀英: the resident login, 70, living alone in 翠微新村 3栋; her son 张伟 is the family login.
    let at = Placement { building: "翠微新村 3栋".into(), unit: "1单元".into(), room: "202".into() };
    let (household, _) = service::place(&mut tx, now, c, &at, None).await?;
    let li = ResidentInput {
        name: "李秀英".into(),
        phone: PhoneNumber::parse("13900000006").ok(),
        id_number: Some(IdCardNumber::with_check_digit("32010219560312042")),
        relation: "户主".into(),
        tags: vec![Tag::LivingAlone],
        notes: "子女在外地工作，每月需办理医保报销".into(),
    };
    let li_id = service::insert_resident(&mut tx, state, None, c, household, li).await?;
    // Her son was bound when she registered at the centre: she agreed in person to 周晓梅.
    sqlx::query(
        "INSERT INTO family_links (family_user_id, resident_id, relation, created_at, status, requested_at, confirmed_at, confirmed_how, confirmed_by_user_id) \
         VALUES ($1, $2, $3, $4, 'confirmed', $4, $4, 'in_person', $5)",
    )
        .bind(uid(Role::Family))
        .bind(li_id)
        .bind("child")
        .bind(now)
        .bind(uid(Role::Staff))
        .execute(&mut *tx)
        .await?;
    // One grid worker walks each grid (the demo login walks the first); two more liaisons help
    // 孙玉兰. These colleagues log in by SMS code.
    let first_grid = service::ensure_grid(&mut tx, now, c, "第一网格").await?;
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(first_grid).bind(uid(Role::GridWorker)).execute(&mut *tx).await?;
    for (grid, phone, name) in [("第二网格", "13900000012", "王建华"), ("第三网格", "13900000013", "赵敏"), ("第四网格", "13900000014", "黄磊")] {
        let phone = PhoneNumber::parse(phone).expect("demo phone");
        let new = accounts::service::NewUser { phone: &phone, display_name: name, password: None, superadmin: false };
        let worker = accounts::service::create_user(&mut tx, now, &new).await?;
        accounts::service::grant(&mut tx, now, worker, c, Role::GridWorker).await?;
        let grid_id = service::ensure_grid(&mut tx, now, c, grid).await?;
        sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(grid_id).bind(worker).execute(&mut *tx).await?;
    }
    for (phone, name) in [("13900000023", "钱桂英"), ("13900000024", "郑立新")] {
        let phone = PhoneNumber::parse(phone).expect("demo phone");
        let new = accounts::service::NewUser { phone: &phone, display_name: name, password: None, superadmin: false };
        let liaison = accounts::service::create_user(&mut tx, now, &new).await?;
        accounts::service::grant(&mut tx, now, liaison, c, Role::Liaison).await?;
    }
    tx.commit().await
}
