//! Granting roles and assigning grid workers to grids.

use kernel::auth::Role;
use testkit::TestApp;

#[tokio::test]
async fn an_admin_grants_a_grid_worker_who_then_sees_only_the_assigned_grid() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "陈主任", c, &[Role::Admin]).await;
    let admin = app.login("13800000001").await;
    let base = "/api/v1/communities/renjia";
    for (building, room, name) in [("翠微新村 1栋", "101", "王大爷"), ("南苑小区 2栋", "202", "李奶奶")] {
        let res = admin.post_json(&format!("{base}/residents"), &serde_json::json!({"name": name, "building": building, "room": room})).await;
        assert_eq!(res.status(), 201);
    }
    let grid: serde_json::Value = admin.post_json(&format!("{base}/grids"), &serde_json::json!({"name": "第一网格"})).await.json().await.unwrap();
    let grid_id = grid["id"].as_i64().unwrap();
    // The building joins the grid through the structure's own data.
    sqlx::query("UPDATE buildings SET grid_id = $1 WHERE name = '翠微新村 1栋'").bind(grid_id).execute(&app.state.db.pool).await.unwrap();

    // Granting a role to a new number creates an account that logs in by SMS code.
    let res = admin.post_json(&format!("{base}/members"), &serde_json::json!({"phone": "13800000009", "display_name": "刘建军", "role": "grid_worker"})).await;
    assert_eq!(res.status(), 201);
    let worker_id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let members = admin.json(&format!("{base}/members")).await;
    assert!(members.as_array().unwrap().iter().any(|m| m["display_name"] == "刘建军" && m["role"] == "grid_worker" && m["phone"] == "138****0009"));

    // Only grid workers of this community can be assigned.
    let res = admin.put_json(&format!("{base}/grids/{grid_id}/workers"), &serde_json::json!({"user_ids": [12345]})).await;
    assert_eq!(res.status(), 422);
    let res = admin.put_json(&format!("{base}/grids/{grid_id}/workers"), &serde_json::json!({"user_ids": [worker_id]})).await;
    assert_eq!(res.status(), 204);

    // Give the worker a password to log in with in this test.
    accounts::service::change_password(&app.state, kernel::auth::UserId::new(worker_id), "", testkit::PASSWORD).await.unwrap();
    let worker = app.login("13800000009").await;
    let seen = worker.json(&format!("{base}/residents")).await;
    let names: Vec<&str> = seen["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["王大爷"]);

    // Revoking the role removes the grid assignment and the access.
    let res = admin.delete(&format!("{base}/members/{worker_id}/grid_worker")).await;
    assert_eq!(res.status(), 204);
    assert_eq!(worker.get(&format!("{base}/residents")).await.status(), 404);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grid_staff").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(left, 0);
    // Every step is in the audit trail.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE entity IN ('membership', 'grid') ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(actions, ["create", "grant", "assign", "revoke"]);
}

#[tokio::test]
async fn only_admins_grant_roles_and_nobody_revokes_their_own_admin_role() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let admin_id = app.user("13800000001", "陈主任", c, &[Role::Admin]).await;
    app.user("13800000002", "周晓梅", c, &[Role::Staff]).await;
    let staff = app.login("13800000002").await;
    let grant = serde_json::json!({"phone": "13800000009", "display_name": "某人", "role": "admin"});
    assert_eq!(staff.post_json("/api/v1/communities/renjia/members", &grant).await.status(), 403);
    let admin = app.login("13800000001").await;
    let res = admin.delete(&format!("/api/v1/communities/renjia/members/{admin_id}/admin")).await;
    assert_eq!(res.status(), 422);
    let bad = serde_json::json!({"phone": "12345", "display_name": "某人", "role": "staff"});
    assert_eq!(admin.post_json("/api/v1/communities/renjia/members", &bad).await.status(), 422);
    let bad_role = serde_json::json!({"phone": "13800000009", "display_name": "某人", "role": "mayor"});
    let res = admin.post_json("/api/v1/communities/renjia/members", &bad_role).await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!((body["error"]["fields"][0]["field"].as_str(), body["error"]["fields"][0]["code"].as_str()), (Some("role"), Some("invalid_choice")), "{body}");
}
