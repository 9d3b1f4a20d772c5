//! Triage through the API and the command line.

use testkit::TestApp;

#[tokio::test]
async fn the_api_classifies_and_explains_without_a_login() {
    let app = TestApp::start().await;
    let client = app.client();
    let res = client.post_json("/api/v1/triage", &serde_json::json!({"text": "翠微新村3栋楼道里一股煤气味,麻烦快来人"})).await;
    assert_eq!(res.status(), 200);
    let t: serde_json::Value = res.json().await.unwrap();
    assert_eq!(t["urgency"], "critical");
    assert_eq!(t["category"], "safety");
    assert!(t["reasons"].as_array().unwrap().iter().any(|r| r["phrase"] == "煤气味" && r["supports"] == "urgency:critical"), "{t}");

    let t: serde_json::Value = client.post_json("/api/v1/triage", &serde_json::json!({"text": "建议在小区里多放几张长椅"})).await.json().await.unwrap();
    assert_eq!((t["urgency"].as_str(), t["category"].as_str()), (Some("low"), Some("suggestion")));

    assert_eq!(client.post_json("/api/v1/triage", &serde_json::json!({"text": "   "})).await.status(), 422);
    assert_eq!(client.post_json("/api/v1/triage", &serde_json::json!({"text": "漏".repeat(2001)})).await.status(), 422);
    // Without its text the request names the missing field.
    assert_eq!(client.post_json("/api/v1/triage", &serde_json::json!({"words": "x"})).await.status(), 422);
    assert_eq!(client.post_json("/api/v1/triage", &serde_json::json!("x")).await.status(), 400);
}

#[test]
fn the_command_line_prints_one_json_object_without_a_database() {
    let dir = std::env::temp_dir().join(format!("linli-triage-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
        .args(["--data", dir.to_str().unwrap(), "triage", "电梯困人了,里面有老人"])
        .output()
        .expect("linli runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["urgency"], "critical");
    assert!(v["category"].is_string() && v["reasons"].is_array());
    assert!(!dir.exists(), "no data directory or database was created");
}
