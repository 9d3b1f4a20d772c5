//! Open311 GeoReport v2: what an unmodified Open311 client sends and expects.

use kernel::auth::Role;
use testkit::TestApp;

async fn app() -> (TestApp, String) {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "周晓梅", c, &[Role::Staff]).await;
    let (_, key) = kernel::auth::create_api_key(&app.state, "fixmystreet", kernel::community::CommunityId::new(c), Role::Resident, None).await.unwrap();
    (app, key)
}

#[tokio::test]
async fn discovery_and_services_in_json_and_xml() {
    let (app, _) = app().await;
    let client = app.client();
    let d = client.json("/open311/v2/discovery.json").await;
    assert_eq!(d[0]["specification"], "http://wiki.open311.org/GeoReport_v2");
    let services = client.json("/open311/v2/services.json?jurisdiction_id=renjia").await;
    let codes: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["repair", "municipal", "sanitation", "safety", "living", "care", "dispute", "consult", "suggestion"]);
    assert_eq!(services[0]["metadata"], "false");
    let res = client.get("/open311/v2/services.xml").await;
    assert_eq!(res.headers()["content-type"], "text/xml; charset=utf-8");
    let xml = res.text().await.unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains("<services><service><service_code>repair</service_code>"), "{xml}");
    assert_eq!(client.json("/open311/v2/services/repair.json").await[0]["service_code"], "repair");
    let res = client.get("/open311/v2/services/unicorns.json").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()[0]["code"], "404");
    assert_eq!(client.get("/open311/v2/services.json?jurisdiction_id=atlantis").await.status(), 404);
}

#[tokio::test]
async fn clients_post_with_an_api_key_and_read_requests_back() {
    let (app, key) = app().await;
    let client = app.client();
    let res = client
        .http
        .post(app.url("/open311/v2/requests.json"))
        .form(&[("api_key", key.as_str()), ("jurisdiction_id", "renjia"), ("service_code", "repair"), ("description", "3栋楼道灯坏了"), ("address_string", "翠微新村3栋")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let id = created[0]["service_request_id"].as_str().unwrap().to_string();
    let one = client.json(&format!("/open311/v2/requests/{id}.json?jurisdiction_id=renjia")).await;
    assert_eq!(one[0]["service_request_id"], id.as_str());
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["service_code"], "repair");
    assert!(one[0]["requested_datetime"].as_str().unwrap().ends_with("+08:00"));
    // Filters.
    assert_eq!(client.json("/open311/v2/requests.json?status=open").await.as_array().unwrap().len(), 1);
    assert!(client.json("/open311/v2/requests.json?status=closed").await.as_array().unwrap().is_empty());
    assert!(client.json("/open311/v2/requests.json?service_code=care").await.as_array().unwrap().is_empty());
    assert!(client.json("/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z").await.as_array().unwrap().is_empty());
    let xml = client.get("/open311/v2/requests.xml").await.text().await.unwrap();
    assert!(xml.contains("<service_requests><request><service_request_id>"));
    // The resident's words are not published.
    assert!(!serde_json::to_string(&one).unwrap().contains("楼道灯坏了"));
    // Errors in the standard's shape.
    for (path, status) in [
        ("/open311/v2/requests.json?status=maybe", 400),
        ("/open311/v2/requests.json?service_code=unicorns", 400),
        ("/open311/v2/requests.json?start_date=yesterday", 400),
        ("/open311/v2/requests.json?start_date=2026-06-02T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400),
        ("/open311/v2/requests/999999.json", 404),
        ("/open311/v2/requests/abc.json", 404),
        ("/open311/v2/requests.yaml", 404),
        ("/open311/v2/tokens/abc.json", 404),
    ] {
        let res = client.get(path).await;
        assert_eq!(res.status(), status, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body[0]["code"], status.to_string(), "{path}");
    }
    let res = client.http.post(app.url("/open311/v2/requests.json")).form(&[("description", "x")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = client.http.post(app.url("/open311/v2/requests.json")).form(&[("api_key", "lk_wrong"), ("description", "x")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn service_request_updates_list_every_step_in_a_window() {
    let (app, key) = app().await;
    let client = app.client();
    let created: serde_json::Value = client
        .http
        .post(app.url("/open311/v2/requests.json"))
        .form(&[("api_key", key.as_str()), ("description", "单元门口积水很深"), ("jurisdiction_id", "renjia")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id: i64 = created[0]["service_request_id"].as_str().unwrap().parse().unwrap();
    let staff = app.login("13800000001").await;
    app.clock.advance(10 * 60_000);
    let res = staff.post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": "acknowledged", "note": "已联系"})).await;
    assert_eq!(res.status(), 200);
    let updates = client.json("/open311/v2/servicerequestupdates.json").await;
    let statuses: Vec<&str> = updates.as_array().unwrap().iter().map(|u| u["description"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["待响应", "已响应"]);
    assert_eq!(updates[1]["service_request_id"], id.to_string());
    // A window after the first step leaves it out.
    let later = kernel::clock::format_local(testkit::T0 + 60_000);
    let start = format!("{}:00+08:00", later.replace(' ', "T"));
    let windowed = client.json(&format!("/open311/v2/servicerequestupdates.json?start_date={}", start.replace('+', "%2B"))).await;
    assert_eq!(windowed.as_array().unwrap().len(), 1);
    assert!(client.get("/open311/v2/servicerequestupdates.xml").await.text().await.unwrap().contains("<service_request_updates><request_update>"));
}
