//! Uploads: checked by content and size, private to the uploader, served safely; on the local
//! directory by default and on S3-compatible storage when `LINLI_TEST_S3_URL` is set.

use kernel::auth::Role;
use testkit::TestApp;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

async fn app() -> TestApp {
    match testkit::required_env("LINLI_TEST_S3_URL", "uploads on S3-compatible storage") {
        Some(url) => {
            let bucket = format!("linli-{}", kernel::crypto::random_token(6).to_lowercase().replace(['_', '-'], "x"));
            TestApp::start_with(|c| {
                c.set_section(&files::service::Settings {
                    s3_endpoint: url,
                    s3_bucket: bucket,
                    s3_access_key: "testing".into(),
                    s3_secret_key: "testing".into(),
                    ..Default::default()
                });
                c.upload_limit = 64 * 1024;
            })
            .await
        }
        None => TestApp::start_with(|c| c.upload_limit = 64 * 1024).await,
    }
}

#[tokio::test]
async fn an_image_is_stored_and_served_back_only_to_its_uploader() {
    let app = app().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    app.user("13800000002", "李强", c, &[Role::Resident]).await;
    let owner = app.login("13800000001").await;
    // The name says .txt; the bytes say PNG, and the bytes decide.
    let res = owner.upload("/api/v1/files", "photo.txt", PNG.to_vec()).await;
    assert_eq!(res.status(), 201);
    let blob: serde_json::Value = res.json().await.unwrap();
    assert_eq!(blob["content_type"], "image/png");
    assert_eq!(blob["size"], PNG.len());
    let url = blob["url"].as_str().unwrap().to_string();

    let res = owner.get(&url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);

    // Someone else, or nobody, cannot tell the file exists.
    let other = app.login("13800000002").await;
    assert_eq!(other.get(&url).await.status(), 404);
    assert_eq!(app.client().get(&url).await.status(), 404);

    // Once published (as a ledger photo would be), anyone may see it.
    files::service::publish(&app.state, blob["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(app.client().get(&url).await.status(), 200);
}

#[tokio::test]
async fn pages_scripts_and_oversized_files_are_refused() {
    let app = app().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.login("13800000001").await;
    for (name, bytes) in [
        ("photo.jpg", b"<html><script>alert(1)</script></html>".to_vec()),
        ("icon.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec()),
        ("app.pdf", b"MZ\x90\x00\x03".to_vec()),
    ] {
        let res = client.upload("/api/v1/files", name, bytes).await;
        assert_eq!(res.status(), 422, "{name}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["code"], "file_type");
    }
    let mut big = PNG.to_vec();
    big.resize(64 * 1024 + 1, 0);
    let res = client.upload("/api/v1/files", "big.png", big).await;
    assert_eq!(res.status(), 413);
    let empty = client.upload("/api/v1/files", "empty.png", Vec::new()).await;
    assert_eq!(empty.status(), 422);
    // Uploads need a login.
    assert_eq!(app.client().upload("/api/v1/files", "a.png", PNG.to_vec()).await.status(), 401);
}

#[tokio::test]
async fn the_same_content_is_stored_once() {
    let app = app().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.login("13800000001").await;
    let a: serde_json::Value = client.upload("/api/v1/files", "a.png", PNG.to_vec()).await.json().await.unwrap();
    let b: serde_json::Value = client.upload("/api/v1/files", "b.png", PNG.to_vec()).await.json().await.unwrap();
    assert_ne!(a["token"], b["token"], "each upload has its own record and link");
    let keys: Vec<String> = sqlx::query_scalar("SELECT DISTINCT content_key FROM blobs").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(keys.len(), 1, "but the bytes are kept once");
}
