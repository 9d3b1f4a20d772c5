//! Triage in a community: each case records the model that classified it, unsure answers wait
//! for staff (待人工分类), staff corrections are kept as examples, and retraining on them switches
//! the community's model only when it is not worse (docs/triage.md).

use testkit::World;

async fn world() -> World {
    World::build().admin("13800000009", "陈主任").staff("13800000001", "周晓梅").resident("13800000006", "李秀英").start().await
}

async fn file(w: &World, text: &str) -> i64 {
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": text})).await;
    let status = res.status();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn model_of(w: &World, id: i64) -> String {
    sqlx::query_scalar("SELECT triage_model FROM cases WHERE id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn filing_records_the_model_and_unsure_reports_wait_for_staff() {
    let w = world().await;
    let sure = file(&w, "3栋楼道里一股很浓的煤气味，快来人").await;
    assert!(model_of(&w, sure).await.starts_with("shipped-"));
    let case = w.staff().json(&format!("/api/v1/cases/{sure}")).await;
    assert_eq!((case["urgency"].as_str(), case["triage_pending"].as_bool()), (Some("critical"), Some(false)), "{case}");
    let unsure = file(&w, "？？？").await;
    let case = w.staff().json(&format!("/api/v1/cases/{unsure}")).await;
    assert_eq!(case["triage_pending"], true, "{case}");
    assert!(case["triage_model"].as_str().is_some_and(|m| m.starts_with("shipped-")), "{case}");
    // Staff see which model classified a case, and that it was unsure rather than failed.
    let page = w.staff().page(&format!("/console/cases/{unsure}")).await;
    assert!(page.contains("待人工分类") && page.contains("没有把握") && page.contains("分类模型 shipped-"), "{page}");
    // The resident is not shown the model.
    let own = w.resident().json(&format!("/api/v1/cases/{unsure}")).await;
    assert!(own["triage_model"].is_null(), "{own}");
    // The API answer says how sure it is.
    let t = w.app.client().post_json("/api/v1/triage", &serde_json::json!({"text": "？？？"})).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(t["to_review"], true, "{t}");
    assert!(t["urgency_confidence"].as_f64().unwrap() < 0.5 && t["model"].as_str().unwrap().starts_with("shipped-"), "{t}");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn corrections_teach_the_community_and_retraining_switches_only_when_not_worse() {
    let w = world().await;
    // Too few corrections: the page says so and nothing is trained.
    let page = w.admin().page("/console/cases/triage?c=renjia").await;
    assert!(page.contains("还没有重新训练过") && page.contains("至少 5 条"), "{page}");
    let res = w.admin().post_form("/console/cases/triage", &[("c", "renjia")]).await;
    assert!(res.text().await.unwrap().contains("至少 5 条"));
    // This community treats the square-dance speakers as an urgent dispute.
    for i in 0..12 {
        let id = file(&w, &format!("{}栋门口广场舞音响第{}晚放到十点半，老人孩子都睡不了", i % 6 + 1, i + 1)).await;
        let res = w
            .staff()
            .post_json(&format!("/api/v1/cases/{id}/triage"), &serde_json::json!({"urgency": "urgent", "category": "dispute", "reason": "社区定为夜间噪音纠纷，当天处理"}))
            .await;
        assert_eq!(res.status(), 200);
    }
    let page = w.admin().page("/console/cases/triage?c=renjia").await;
    assert!(page.contains(r#"data-testid="corrections">12<"#), "{page}");
    // Staff may see the page but not retrain.
    assert_eq!(w.staff().post_form("/console/cases/triage", &[("c", "renjia")]).await.status(), 403);
    let res = w.admin().post_form("/console/cases/triage", &[("c", "renjia")]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("新模型 renjia-1-") && page.contains("已启用"), "the admin is told what came of it: {page}");
    let page = w.admin().page("/console/cases/triage?c=renjia").await;
    assert!(page.contains("已启用") && page.contains("renjia-1-") && page.contains("陈主任"), "{page}");
    assert!(page.contains("没参与训练的新纠正") && page.contains("仅供参考"), "the check is explained, and its thinness: {page}");
    // Nothing new to learn: retraining again is refused with the reason, and nothing is recorded.
    let res = w.admin().post_form("/console/cases/triage", &[("c", "renjia")]).await;
    assert!(res.text().await.unwrap().contains("没有新的纠正"));
    let models: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM triage_models").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(models, 1);
    // The queue links to the page.
    assert!(w.staff().page("/console/cases?c=renjia").await.contains("/console/cases/triage?c=renjia"));
    // The next report is classified by the community's model, and as its staff taught it.
    let id = file(&w, "5栋门口广场舞音响又放到十点半，老人孩子都睡不了").await;
    assert!(model_of(&w, id).await.starts_with("renjia-1-"));
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!((case["urgency"].as_str(), case["category"].as_str()), (Some("urgent"), Some("dispute")), "{case}");
    // Asked for the community, the triage API answers as filing there does.
    let t = w
        .app
        .client()
        .post_json("/api/v1/triage", &serde_json::json!({"text": "5栋门口广场舞音响又放到十点半，老人孩子都睡不了", "community": "renjia"}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(t["model"].as_str().unwrap().starts_with("renjia-1-") && t["category"] == "dispute", "{t}");
    let res = w.app.client().post_json("/api/v1/triage", &serde_json::json!({"text": "路灯坏了", "community": "nowhere"})).await;
    assert_eq!(res.status(), 422);
    // A correction is shown in words, and the case page says staff classified it.
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(page.contains("工作人员已调整分类") || page.contains("分类模型 renjia-1-"), "{page}");
    let corrected = file(&w, "楼下小卖部门口的台阶坏了一块").await;
    let res = w
        .staff()
        .post_json(&format!("/api/v1/cases/{corrected}/triage"), &serde_json::json!({"urgency": "normal", "category": "municipal", "reason": "人行道归市政"}))
        .await;
    assert_eq!(res.status(), 200);
    let page = w.staff().page(&format!("/console/cases/{corrected}")).await;
    assert!(page.contains("工作人员已调整分类") && page.contains("人行道归市政"), "{page}");
    assert!(!page.contains("/municipal") && !page.contains("normal/"), "no stored codes on the timeline: {page}");
    // A value outside the choices names its field.
    let res = w
        .staff()
        .post_json(&format!("/api/v1/cases/{corrected}/triage"), &serde_json::json!({"urgency": "extreme", "category": "municipal", "reason": "x"}))
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "urgency", "{body}");
    let res = w.staff().post_json(&format!("/api/v1/cases/{corrected}/triage"), &serde_json::json!({"urgency": "normal", "category": "municipal"})).await;
    assert_eq!(res.status(), 422);
    // The retraining is on record in the audit log.
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'triage_model' AND action = 'retrained'")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}
