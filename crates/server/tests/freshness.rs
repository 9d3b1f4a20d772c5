//! Reads that are cached for speed still show a change at once on the node that made it.

use kernel::auth::Role;
use testkit::TestApp;

#[tokio::test]
async fn a_staff_edit_shows_on_the_residents_own_page_at_once() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "周晓梅", c, &[Role::Staff]).await;
    let staff = app.login("13800000001").await;
    let created = staff
        .post_json(
            "/api/v1/communities/renjia/residents",
            &serde_json::json!({"name": "李秀英", "phone": "13800000006", "building": "翠微新村 3栋", "unit": "1单元", "room": "202", "relation": "户主"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    // The registration gave 李秀英 an account; give it a password for the test.
    let uid: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13800000006'").fetch_one(&app.state.db.pool).await.unwrap();
    accounts::service::change_password(&app.state, kernel::auth::UserId::new(uid), "", testkit::PASSWORD).await.unwrap();
    let resident = app.login("13800000006").await;
    assert_eq!(resident.json("/api/v1/me/household").await["me"]["relation"], "户主");

    let edit = serde_json::json!({"name": "李秀英", "phone": "13800000006", "relation": "本人", "tags": ["独居"]});
    assert_eq!(staff.patch_json(&format!("/api/v1/communities/renjia/residents/{id}"), &edit).await.status(), 200);
    let me = resident.json("/api/v1/me/household").await;
    assert_eq!(me["me"]["relation"], "本人");
    assert!(me["me"]["tags"].as_array().unwrap().contains(&serde_json::json!("living_alone")));
    assert!(resident.page("/me").await.contains("独居"));

    // A new family member shows in the household at once, too.
    let res = staff
        .post_json("/api/v1/communities/renjia/residents", &serde_json::json!({"name": "张伟", "building": "翠微新村 3栋", "unit": "1单元", "room": "202", "relation": "儿子"}))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(resident.json("/api/v1/me/household").await["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_unread_badge_follows_new_and_read_messages() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let uid = app.user("13800000006", "李秀英", c, &[Role::Resident]).await;
    let resident = app.login("13800000006").await;
    assert!(!resident.page("/").await.contains("条未读"));
    let mut tx = app.state.db.begin_write().await.unwrap();
    let msg = notify::Message {
        community_id: Some(kernel::community::CommunityId::new(c)),
        user_id: Some(kernel::auth::UserId::new(uid)),
        channel: notify::Channel::Inbox,
        to: String::new(),
        template: "welcome",
        params: vec![("name", "李秀英".into())],
        secret_params: &[],
        link: None,
        locale: kernel::i18n::Locale::ZhCn,
        idempotency_key: "welcome:1".into(),
    };
    notify::service::send(&mut tx, app.state.now(), &msg).await.unwrap();
    tx.commit().await.unwrap();
    assert!(resident.page("/").await.contains("1 条未读"));
    assert_eq!(resident.post_form("/me/notifications/read-all", &[]).await.status(), 303);
    assert!(!resident.page("/").await.contains("条未读"));
}
