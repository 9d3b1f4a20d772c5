//! A world to test in: the running app, one community, its people logged in, and the places and
//! registered residents a test adds, declared in a line instead of built by hand in every file.
//!
//! ```ignore
//! let w = World::build().sms().staff("13800000001", "周晓梅").resident("13800000006", "李秀英").start().await;
//! let building = w.building("翠微新村 3栋").await;
//! let unit = w.unit(building, "2单元").await;
//! w.resident().post_json("/api/v1/communities/renjia/cases", &json!({"text": "…", "unit_id": unit})).await;
//! assert_eq!(w.sms().sent().len(), 1);
//! ```
//!
//! A test file that needs more (family links, a case filed in advance) keeps a small struct of
//! its own holding the `World` in a field `base` beside what it adds, and declares it with
//! [`extends_world!`](crate::extends_world) to use it as the `World` itself.

use crate::{Client, FakeSmsGateway, TestApp};
use kernel::auth::Role;
use kernel::config::Config;
use serde_json::{json, Value};

/// The slug of the community every world is set in.
pub const COMMUNITY_SLUG: &str = "renjia";

/// The name of the community every world is set in.
pub const COMMUNITY_NAME: &str = "南京人家社区";

/// The running app with one community ([`COMMUNITY_NAME`], `renjia`) and its people logged in.
pub struct World {
    /// The running app.
    pub app: TestApp,
    /// The id of the community.
    pub community_id: i64,
    sms: Option<FakeSmsGateway>,
    people: Vec<Person>,
}

/// A user the world was built with.
struct Person {
    phone: String,
    roles: Vec<Role>,
    id: i64,
    client: Client,
}

/// A change to the configuration, made before the app starts.
type Adjust = Box<dyn FnOnce(&mut Config)>;

/// What a [`World`] starts with, declared before [`WorldBuilder::start`]; made by [`World::build`].
#[must_use = "a world is made by .start().await"]
#[derive(Default)]
pub struct WorldBuilder {
    sms: bool,
    adjust: Vec<Adjust>,
    users: Vec<(String, String, Vec<Role>)>,
}

impl WorldBuilder {
    /// Starts a [`FakeSmsGateway`] and points the app's text messages at it ([`World::sms`]).
    pub fn sms(mut self) -> Self {
        self.sms = true;
        self
    }

    /// Changes the app's configuration before it starts (after the SMS gateway is wired in).
    pub fn config(mut self, adjust: impl FnOnce(&mut Config) + 'static) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// A user with [`crate::PASSWORD`] and these roles in the community (none: a login only),
    /// logged in when the world starts. Users are made in the order declared.
    pub fn user(mut self, phone: &str, name: &str, roles: &[Role]) -> Self {
        self.users.push((phone.to_string(), name.to_string(), roles.to_vec()));
        self
    }

    /// An admin (管理员) of the community.
    pub fn admin(self, phone: &str, name: &str) -> Self {
        self.user(phone, name, &[Role::Admin])
    }

    /// A staff member (社区工作者) of the community.
    pub fn staff(self, phone: &str, name: &str) -> Self {
        self.user(phone, name, &[Role::Staff])
    }

    /// A grid worker (网格员) of the community, in no grid until [`World::grid`] names them.
    pub fn grid_worker(self, phone: &str, name: &str) -> Self {
        self.user(phone, name, &[Role::GridWorker])
    }

    /// A resident (居民) of the community.
    pub fn resident(self, phone: &str, name: &str) -> Self {
        self.user(phone, name, &[Role::Resident])
    }

    /// Starts the app (with the SMS gateway if asked for), makes the community and the users, and
    /// logs every user in.
    pub async fn start(self) -> World {
        let sms = if self.sms { Some(FakeSmsGateway::start().await) } else { None };
        let app = TestApp::start_with(|c| {
            if let Some(gateway) = &sms {
                gateway.wire(c);
            }
            for adjust in self.adjust {
                adjust(c);
            }
        })
        .await;
        let community_id = app.community(COMMUNITY_SLUG, COMMUNITY_NAME).await;
        let mut ids = Vec::new();
        for (phone, name, roles) in &self.users {
            ids.push(app.user(phone, name, community_id, roles).await);
        }
        let mut people = Vec::new();
        for ((phone, _, roles), id) in self.users.into_iter().zip(ids) {
            let client = app.login(&phone).await;
            people.push(Person { phone, roles, id, client });
        }
        World { app, community_id, sms, people }
    }
}

impl World {
    /// Declares a world; see [`WorldBuilder`].
    pub fn build() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// The SMS gateway the app texts through.
    pub fn sms(&self) -> &FakeSmsGateway {
        self.sms.as_ref().expect("this world has no SMS gateway: ask for one with World::build().sms()")
    }

    /// The logged-in client of the user with this phone number.
    pub fn client(&self, phone: &str) -> &Client {
        &self.person(phone).client
    }

    /// The user id of the user with this phone number.
    pub fn user_id(&self, phone: &str) -> i64 {
        self.person(phone).id
    }

    /// The client of the first admin declared.
    pub fn admin(&self) -> &Client {
        self.first(Role::Admin, "admin")
    }

    /// The client of the first staff member declared.
    pub fn staff(&self) -> &Client {
        self.first(Role::Staff, "staff")
    }

    /// The client of the first resident declared.
    pub fn resident(&self) -> &Client {
        self.first(Role::Resident, "resident")
    }

    fn person(&self, phone: &str) -> &Person {
        self.people.iter().find(|p| p.phone == phone).unwrap_or_else(|| panic!("this world has no user {phone}: declare it on World::build()"))
    }

    fn first(&self, role: Role, declare: &str) -> &Client {
        let person = self.people.iter().find(|p| p.roles.contains(&role));
        &person.unwrap_or_else(|| panic!("this world has no {role:?}: declare one with World::build().{declare}(phone, name)")).client
    }

    /// Who enters places and residents: the first staff member or admin declared, as in the
    /// console (the registry's structure and residents are theirs to write).
    fn keeper(&self) -> &Client {
        let person = self.people.iter().find(|p| p.roles.iter().any(|r| matches!(r, Role::Staff | Role::Admin)));
        &person.expect("entering places or residents needs a staff member or an admin: declare one on World::build()").client
    }

    /// POSTs `body` to the community's API at `path` as the keeper, asserting 201; the new id.
    async fn create(&self, path: &str, body: &Value) -> i64 {
        let path = format!("/api/v1/communities/{COMMUNITY_SLUG}/{path}");
        let res = self.keeper().post_json(&path, body).await;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, 201, "POST {path} {body}: {text}");
        serde_json::from_str::<Value>(&text).expect("JSON body")["id"].as_i64().expect("an id")
    }

    /// A building in no grid, entered through the registry's API; its id.
    pub async fn building(&self, name: &str) -> i64 {
        self.create("buildings", &json!({"name": name})).await
    }

    /// A building in `grid`, entered through the registry's API; its id.
    pub async fn building_in(&self, grid: i64, name: &str) -> i64 {
        self.create("buildings", &json!({"name": name, "grid_id": grid})).await
    }

    /// A building in no grid with one unit: (building, unit).
    pub async fn building_with_unit(&self, name: &str, unit: &str) -> (i64, i64) {
        let building = self.building(name).await;
        (building, self.unit(building, unit).await)
    }

    /// A unit of `building` (the API has no call for one alone: a resident's address makes it);
    /// its id.
    pub async fn unit(&self, building: i64, name: &str) -> i64 {
        let mut tx = self.app.state.db.begin_write().await.unwrap();
        let id = sqlx::query_scalar("INSERT INTO units (building_id, name) VALUES ($1, $2) RETURNING id").bind(building).bind(name).fetch_one(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Places `building` on the community plan at (`x`, `y`), as the plan editor would.
    pub async fn place_on_plan(&self, building: i64, x: i64, y: i64) {
        let mut tx = self.app.state.db.begin_write().await.unwrap();
        sqlx::query("UPDATE buildings SET plan_x = $1, plan_y = $2 WHERE id = $3").bind(x).bind(y).bind(building).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// A grid with these users (by phone) as its workers; its id.
    pub async fn grid(&self, name: &str, workers: &[&str]) -> i64 {
        let grid = self.create("grids", &json!({"name": name})).await;
        let user_ids: Vec<i64> = workers.iter().map(|phone| self.user_id(phone)).collect();
        let path = format!("/api/v1/communities/{COMMUNITY_SLUG}/grids/{grid}/workers");
        let res = self.keeper().put_json(&path, &json!({"user_ids": user_ids})).await;
        let status = res.status();
        assert!(status.is_success(), "PUT {path}: {status} {}", res.text().await.unwrap_or_default());
        grid
    }

    /// A person entered in the community's register through the API (`name`, and any of
    /// `phone`, `id_number`, `building`, `unit`, `room`, `tags` …; `relation` is 户主 unless
    /// given); the resident's id.
    pub async fn register(&self, person: Value) -> i64 {
        let mut person = person;
        let fields = person.as_object_mut().expect("a resident is a JSON object");
        fields.entry("relation").or_insert_with(|| json!("户主"));
        self.create("residents", &person).await
    }
}

/// A valid ID number (校验码 computed) of someone born on `birth` (YYYYMMDD) in 南京市玄武区,
/// `seq` telling people born the same day apart.
pub fn id_number(birth: &str, seq: u32) -> String {
    kernel::crypto::IdCardNumber::with_check_digit(&format!("320102{birth}{seq:03}")).as_str().to_string()
}

/// Lets a test file's own world (a struct holding a [`World`] in its field `base`, beside what
/// only that file needs) be used as the `World` itself: `w.app`, `w.staff()`, `w.sms()` ….
#[macro_export]
macro_rules! extends_world {
    ($local:ty) => {
        impl ::std::ops::Deref for $local {
            type Target = $crate::World;
            fn deref(&self) -> &$crate::World {
                &self.base
            }
        }
    };
}
