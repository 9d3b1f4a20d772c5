//! The demo community is faithful to the seed, and every login it prints works.

use testkit::TestApp;

#[tokio::test]
async fn the_demo_community_matches_the_seed_and_every_printed_login_works() {
    let app = TestApp::start().await;
    assert!(linli::demo::seed(&app.state).await.unwrap(), "first run seeds");
    assert!(!linli::demo::seed(&app.state).await.unwrap(), "a second run leaves the data alone");

    let count = |sql: &'static str| {
        let pool = app.state.db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM buildings").await, 32, "32 building groups");
    assert_eq!(count("SELECT COUNT(*) FROM grids").await, 4);
    assert_eq!(count("SELECT COUNT(*) FROM buildings WHERE name LIKE '翠微新村%'").await, 12);
    let households = count("SELECT COUNT(*) FROM households").await;
    assert!((300..=400).contains(&households), "a few hundred households: {households}");
    assert!(count("SELECT COUNT(*) FROM resident_tags WHERE tag = 'living_alone'").await >= 20, "elders living alone");
    assert!(count("SELECT COUNT(*) FROM resident_tags WHERE tag = 'renter'").await >= 30, "renters");
    assert!(count("SELECT COUNT(*) FROM resident_tags WHERE tag = 'child'").await >= 30, "families with children");
    assert_eq!(count("SELECT COUNT(*) FROM grid_staff").await, 4, "a grid worker per grid");
    assert_eq!(count("SELECT COUNT(*) FROM memberships WHERE role = 'liaison'").await, 3);
    // Three months of cases, most answered and rated, a few still open.
    assert_eq!(count("SELECT COUNT(*) FROM cases").await, 160);
    assert!(count("SELECT COUNT(*) FROM case_ratings WHERE used_at IS NOT NULL").await >= 60);
    assert!(count("SELECT COUNT(*) FROM cases WHERE state IN ('new', 'in_progress')").await >= 4);
    let figures = app.client().json("/api/v1/communities/nanjing-renjia/ledger").await["figures"].clone();
    for key in ["response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate"] {
        let v = figures[key].as_f64().unwrap_or_default();
        assert!((0.5..1.0).contains(&v), "a believable {key}: {v}");
    }

    let banner = linli::demo::banner("http://127.0.0.1:8080");
    for (role, phone, name) in registry::demo::DEMO_LOGINS {
        assert!(banner.contains(phone) && banner.contains(role.code()), "{role:?} is printed");
        let client = app.client();
        let res = client
            .post_json("/api/v1/auth/login", &serde_json::json!({"phone": phone, "password": registry::demo::DEMO_PASSWORD}))
            .await;
        assert_eq!(res.status(), 200, "{role:?} {phone} logs in");
        let home = client.page("/").await;
        assert!(home.contains(name), "{role:?} is greeted by name");
        let me = client.json("/api/v1/me").await;
        assert!(me["memberships"].as_array().unwrap().iter().any(|m| m["role"] == role.code()));
    }
    // The resident is 李阿姨 of 翠微新村, living alone; her son is bound to her as family.
    let li = app.client();
    li.post_json("/api/v1/auth/login", &serde_json::json!({"phone": "13900000006", "password": registry::demo::DEMO_PASSWORD})).await;
    let household = li.json("/api/v1/me/household").await;
    assert!(household["me"]["address"].as_str().unwrap().starts_with("翠微新村 3栋"));
    assert!(household["me"]["tags"].as_array().unwrap().contains(&serde_json::json!("living_alone")));
    assert_eq!(count("SELECT COUNT(*) FROM family_links").await, 1);
}
