//! The notification outbox: SMS retries with backoff and one idempotency key, dead letters
//! an administrator can see, e-mail through a real SMTP conversation, and the in-app inbox.

use kernel::auth::Role;
use kernel::clock::DAY;
use kernel::i18n::Locale;
use kernel::jobs::{backoff_ms, DEFAULT_MAX_ATTEMPTS};
use notify::{Channel, Message};
use sqlx::Row;
use testkit::{FakeSmtp, TestApp};

fn message(channel: Channel, to: &str, key: &str) -> Message {
    Message {
        community_id: None,
        user_id: None,
        channel,
        to: to.into(),
        template: "login_code",
        params: vec![("code", "246810".into()), ("minutes", "5".into())],
        secret_params: &["code"],
        link: None,
        locale: Locale::ZhCn,
        idempotency_key: key.into(),
    }
}

/// Queues `msg` in its own transaction, as a service would.
async fn queue(app: &TestApp, msg: &Message) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let id = notify::service::send(&mut tx, app.state.now(), msg).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// `(state, attempts, last_error)` of an outbox row.
async fn outbox_row(app: &TestApp, id: i64) -> (String, i64, Option<String>) {
    let row = sqlx::query("SELECT state, attempts, last_error FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// `(state, attempts, last_error)` of the delivery job of an outbox row.
async fn delivery_job(app: &TestApp, outbox_id: i64) -> (String, i64, Option<String>) {
    let rows = sqlx::query("SELECT state, attempts, last_error, payload FROM jobs WHERE kind = 'notify.deliver'")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| serde_json::from_str::<serde_json::Value>(r.get::<String, _>(3).as_str()).unwrap()["outbox_id"] == outbox_id)
        .collect();
    assert_eq!(mine.len(), 1, "one delivery job per message");
    (mine[0].get(0), mine[0].get(1), mine[0].get(2))
}

#[tokio::test]
async fn a_failing_gateway_is_retried_with_backoff_and_texts_once() {
    let (app, gw) = TestApp::start_with_sms().await;
    gw.fail_next(2);
    let id = queue(&app, &message(Channel::Sms, "13800000001", "retry-test:1")).await;

    assert_eq!(app.run_jobs().await, 1, "first attempt runs at once");
    assert_eq!(gw.calls(), 1);
    assert_eq!(outbox_row(&app, id).await.0, "failed", "a failed attempt that will be retried");
    for attempt in 1..=2 {
        // Not a millisecond early.
        app.clock.advance(backoff_ms(attempt) - 1);
        assert_eq!(app.run_jobs().await, 0, "retry {attempt} ran before its backoff");
        assert_eq!(gw.calls(), attempt as usize);
        app.clock.advance(1);
        assert_eq!(app.run_jobs().await, 1, "retry {attempt} is due");
        assert_eq!(gw.calls(), attempt as usize + 1);
    }

    let sent = gw.sent();
    assert_eq!(sent.len(), 1, "delivered exactly once");
    assert_eq!(sent[0].to, "13800000001");
    assert!(sent[0].text.starts_with("【邻里】") && sent[0].text.contains("246810"), "{}", sent[0].text);
    assert_eq!(gw.call_keys(), vec![sent[0].key.clone(); 3], "every attempt carried the same Idempotency-Key");
    assert!(!sent[0].key.is_empty());
    let (state, attempts, last_error) = outbox_row(&app, id).await;
    assert_eq!((state.as_str(), attempts, last_error), ("sent", 3, None));
    assert_eq!(delivery_job(&app, id).await.0, "done");

    // Nothing is left to run, however long we wait.
    app.clock.advance(DAY);
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(gw.calls(), 3);
}

#[tokio::test]
async fn a_gateway_that_keeps_failing_dead_letters_the_message_for_admins_to_see() {
    let (app, gw) = TestApp::start_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000090", "陈主任", c, &[Role::Admin]).await;
    app.user("13800000006", "李秀英", c, &[Role::Resident]).await;
    gw.fail_next(usize::MAX / 2);
    let id = queue(&app, &Message { community_id: Some(kernel::community::CommunityId::new(c)), ..message(Channel::Sms, "13800000001", "dead-test:1") }).await;

    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        assert_eq!(app.run_jobs().await, 1, "attempt {attempt}");
        let expected = if attempt < DEFAULT_MAX_ATTEMPTS { "failed" } else { "dead" };
        assert_eq!(outbox_row(&app, id).await.0, expected, "after attempt {attempt}");
        if attempt < DEFAULT_MAX_ATTEMPTS {
            app.clock.advance(backoff_ms(attempt) - 1);
            assert_eq!(app.run_jobs().await, 0, "attempt {} ran early", attempt + 1);
            app.clock.advance(1);
        }
    }
    app.clock.advance(DAY);
    assert_eq!(app.run_jobs().await, 0, "a dead letter is not retried");
    assert_eq!(gw.calls(), DEFAULT_MAX_ATTEMPTS as usize);
    assert!(gw.sent().is_empty());

    let (state, attempts, last_error) = outbox_row(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("dead", DEFAULT_MAX_ATTEMPTS));
    assert!(last_error.as_deref().is_some_and(|e| e.contains("503")), "{last_error:?}");
    let (job_state, job_attempts, job_error) = delivery_job(&app, id).await;
    assert_eq!((job_state.as_str(), job_attempts), ("dead", DEFAULT_MAX_ATTEMPTS));
    assert!(job_error.is_some_and(|e| e.contains("503")));

    let admin = app.login("13800000090").await;
    let page = admin.json("/api/v1/admin/outbox?state=dead").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["channel"], "sms");
    assert_eq!(items[0]["recipient"], "138****0001", "the recipient is masked");
    assert_eq!(items[0]["state"], "dead");
    assert_eq!(items[0]["attempts"], DEFAULT_MAX_ATTEMPTS);
    assert!(items[0]["last_error"].as_str().unwrap().contains("503"));
    assert!(!page.to_string().contains("13800000001"), "the full number never leaves the server");
    // The dead-letter queue is also the default view.
    assert_eq!(admin.json("/api/v1/admin/outbox").await["items"][0]["id"], id);
    assert_eq!(admin.get("/api/v1/admin/outbox?state=lost").await.status(), 422);
    // The same list is a console page for administrators.
    let html = admin.page("/console/outbox").await;
    assert!(html.contains("138****0001") && html.contains("503"), "{html}");
    assert!(!html.contains("13800000001"));

    // An administrator of another community does not see this community's messages; the
    // deployment administrator sees every community's.
    let other = app.community("other", "别的社区").await;
    app.user("13800000091", "赵主任", other, &[Role::Admin]).await;
    let page = app.login("13800000091").await.json("/api/v1/admin/outbox?state=dead").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "{page}");
    accounts::service::create_admin(&app.state, "13800000099", "运维", testkit::PASSWORD).await.unwrap();
    assert_eq!(app.login("13800000099").await.json("/api/v1/admin/outbox?state=dead").await["items"][0]["id"], id);

    let resident = app.login("13800000006").await;
    let res = resident.get("/api/v1/admin/outbox?state=dead").await;
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(resident.get("/console/outbox").await.status(), 403);
    assert_eq!(app.client().get("/api/v1/admin/outbox?state=dead").await.status(), 401);
    // Jobs are left behind: the dead letter is the point.
    app.allow_leftover_jobs();
}

#[tokio::test]
async fn the_same_idempotency_key_queues_one_message() {
    let (app, gw) = TestApp::start_with_sms().await;
    let msg = message(Channel::Sms, "13800000001", "once:42");
    let first = queue(&app, &msg).await;
    let second = queue(&app, &msg).await;
    assert_eq!(first, second);
    // Twice in one transaction, too.
    let mut tx = app.state.db.begin_write().await.unwrap();
    assert_eq!(notify::service::send(&mut tx, app.state.now(), &msg).await.unwrap(), first);
    assert_eq!(notify::service::send(&mut tx, app.state.now(), &msg).await.unwrap(), first);
    tx.commit().await.unwrap();

    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'once:42'").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(rows, 1);
    assert_eq!(kernel::jobs::count_by_state(&app.state, "pending").await.unwrap(), 1);
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(gw.calls(), 1);
    assert_eq!(gw.sent().len(), 1);
}

fn b64(s: &str) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(s.trim()).expect("base64");
    String::from_utf8(raw).expect("UTF-8")
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_conversation_in_utf8() {
    let smtp = FakeSmtp::start().await;
    let url = format!("smtp://{}", smtp.addr);
    let app = TestApp::start_with(|c| {
        c.set_section(&notify::Settings { smtp_url: url, smtp_from: "noreply@linli.example".into(), ..Default::default() });
    })
    .await;
    let msg = Message {
        template: "welcome",
        params: vec![("name", "王芳".into())],
        ..message(Channel::Email, "wang.fang@example.org", "welcome-mail:1")
    };
    let id = queue(&app, &msg).await;
    assert!(smtp.mails().is_empty(), "nothing leaves before the job runs");
    assert_eq!(app.run_jobs().await, 1);

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "wang.fang@example.org");
    let (head, body) = mails[0].data.split_once("\r\n\r\n").expect("headers, blank line, body");
    let header = |name: &str| {
        head.split("\r\n")
            .find_map(|l| l.split_once(": ").filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_string()))
            .unwrap_or_else(|| panic!("no {name} header in {head}"))
    };
    let (title, text) = notify::domain::render("welcome", Channel::Email, Locale::ZhCn, &[("name".into(), "王芳".into())]);
    assert_eq!(title, "欢迎使用邻里");
    assert!(text.contains("王芳，您好"), "{text}");
    assert_eq!(encoded_words(&header("Subject")), title);
    assert_eq!(header("Content-Type").to_ascii_lowercase(), "text/plain; charset=utf-8");
    assert_eq!(header("Content-Transfer-Encoding"), "base64");
    assert_eq!(header("From"), "noreply@linli.example");
    assert_eq!(header("To"), "wang.fang@example.org");
    assert_eq!(header("Date"), "Mon, 01 Jun 2026 01:00:00 +0000", "dated by the platform's clock (09:00 in China)");
    let message_id = header("Message-ID");
    let id_left = message_id.strip_prefix('<').and_then(|m| m.strip_suffix("@linli>")).unwrap_or_else(|| panic!("{message_id}"));
    assert!(id_left.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "a valid msg-id: {message_id}");
    {
        use base64::Engine;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id_left).unwrap();
        assert_eq!(key, b"welcome-mail:1", "the idempotency key names the message, so a resend is recognisable");
    }
    assert!(body.lines().all(|l| l.len() <= 76), "base64 lines are wrapped");
    assert_eq!(b64(&body.replace("\r\n", "")), text);
    assert_eq!(outbox_row(&app, id).await.0, "sent");
    assert!(!mails[0].tls && mails[0].user.is_none(), "a relay on the local network: no TLS, no login");
}

/// A header's RFC 2047 encoded words (`=?utf-8?b?…?=`, one or several), decoded.
fn encoded_words(value: &str) -> String {
    let bytes: Vec<u8> = value
        .split_whitespace()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            assert!(lower.starts_with("=?utf-8?b?") && lower.ends_with("?="), "an encoded word: {w}");
            w[10..w.len() - 2].to_string()
        })
        .map(|b| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b).expect("base64")
        })
        .flat_map(|bytes| bytes.into_iter())
        .collect();
    String::from_utf8(bytes).expect("UTF-8")
}

#[tokio::test]
async fn email_through_a_provider_uses_starttls_and_logs_in() {
    let smtp = FakeSmtp::start_tls("linli@provider.example", "p@ss word/1").await;
    // The password's special characters are percent-encoded in the URL.
    let url = format!("smtp://linli%40provider.example:p%40ss%20word%2F1@{}?tls=required", smtp.addr);
    let app = TestApp::start_with(|c| {
        c.set_section(&notify::Settings { smtp_url: url, smtp_from: "noreply@linli.example".into(), smtp_ca_file: testkit::smtp_ca_file(), ..Default::default() });
    })
    .await;
    let id = queue(&app, &message(Channel::Email, "wang.fang@example.org", "tls-mail:1")).await;
    assert_eq!(app.run_jobs().await, 1);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls, "sent only after STARTTLS");
    assert_eq!(mails[0].user.as_deref(), Some("linli@provider.example"), "logged in");
    assert_eq!(outbox_row(&app, id).await.0, "sent");

    // A wrong password is the provider's refusal, in words, and nothing is sent.
    let url = format!("smtp://linli%40provider.example:wrong@{}?tls=required", smtp.addr);
    let wrong = TestApp::start_with(|c| {
        c.set_section(&notify::Settings { smtp_url: url, smtp_from: "noreply@linli.example".into(), smtp_ca_file: testkit::smtp_ca_file(), ..Default::default() });
    })
    .await;
    wrong.allow_leftover_jobs();
    let id = queue(&wrong, &message(Channel::Email, "wang.fang@example.org", "tls-mail:2")).await;
    wrong.run_jobs().await;
    let (_, attempts, error) = outbox_row(&wrong, id).await;
    assert_eq!(attempts, 1);
    assert!(error.as_deref().is_some_and(|e| e.contains("email_refused")), "{error:?}");
    assert_eq!(smtp.mails().len(), 1, "nothing more was sent");

    // Without the relay's CA the certificate is not trusted: nothing goes out in the clear.
    let url = format!("smtp://linli%40provider.example:p%40ss%20word%2F1@{}?tls=required", smtp.addr);
    let untrusted = TestApp::start_with(|c| {
        c.set_section(&notify::Settings { smtp_url: url, smtp_from: "noreply@linli.example".into(), ..Default::default() });
    })
    .await;
    untrusted.allow_leftover_jobs();
    let id = queue(&untrusted, &message(Channel::Email, "wang.fang@example.org", "tls-mail:3")).await;
    untrusted.run_jobs().await;
    let (state, _, error) = outbox_row(&untrusted, id).await;
    assert_ne!(state, "sent", "{error:?}");
    assert_eq!(smtp.mails().len(), 1, "nothing more was sent");
}

/// Sends an inbox message to `user_id` with a unique key.
async fn notify_inbox(app: &TestApp, user_id: i64, name: &str, key: &str) -> i64 {
    let msg = Message {
        user_id: Some(kernel::auth::UserId::new(user_id)),
        template: "welcome",
        params: vec![("name", name.into())],
        link: Some("/me".into()),
        ..message(Channel::Inbox, "", key)
    };
    queue(app, &msg).await
}

#[tokio::test]
async fn inbox_messages_appear_at_once_and_can_be_read() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    let wang = app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let li = app.user("13800000002", "李明", c, &[Role::Resident]).await;
    for i in 1..=3 {
        notify_inbox(&app, wang, &format!("王芳{i}"), &format!("inbox:wang:{i}")).await;
    }
    notify_inbox(&app, li, "李明", "inbox:li:1").await;
    // Inbox messages need no delivery job.
    assert_eq!(kernel::jobs::count_by_state(&app.state, "pending").await.unwrap(), 0);

    let client = app.login("13800000001").await;
    let first = client.json("/api/v1/me/notifications?limit=2").await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["body"].as_str().unwrap(), notify::domain::render("welcome", Channel::Inbox, Locale::ZhCn, &[("name".into(), "王芳3".into())]).1, "newest first");
    assert_eq!(items[1]["title"], "欢迎使用邻里");
    assert_eq!(items[0]["link"], "/me");
    assert!(items.iter().all(|i| i["read_at"].is_null()));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = client.json(&format!("/api/v1/me/notifications?limit=2&cursor={cursor}")).await;
    let rest = second["items"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0]["body"].as_str().unwrap().contains("王芳1"));
    assert!(second["next_cursor"].is_null(), "last page");
    let all = client.json("/api/v1/me/notifications").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "only my own messages");
    assert!(!all.to_string().contains("李明"));

    let page = client.page("/me/notifications").await;
    assert!(page.contains("王芳3，您好") && page.contains("王芳1，您好"), "{page}");
    assert!(!page.contains("李明"));

    // Mark one read.
    let oldest = rest[0]["id"].as_i64().unwrap();
    assert_eq!(client.post_json(&format!("/api/v1/me/notifications/{oldest}/read"), &serde_json::json!({})).await.status(), 204);
    let all = client.json("/api/v1/me/notifications").await;
    let read: Vec<i64> = all["items"].as_array().unwrap().iter().filter(|i| !i["read_at"].is_null()).map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(read, vec![oldest]);
    // Reading it again changes nothing and is no error.
    assert_eq!(client.post_json(&format!("/api/v1/me/notifications/{oldest}/read"), &serde_json::json!({})).await.status(), 204);

    // Someone else's notification does not exist for me.
    let li_items = app.login("13800000002").await.json("/api/v1/me/notifications").await;
    let li_id = li_items["items"][0]["id"].as_i64().unwrap();
    let res = client.post_json(&format!("/api/v1/me/notifications/{li_id}/read"), &serde_json::json!({})).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_found");
    assert_eq!(client.post_json("/api/v1/me/notifications/999999/read", &serde_json::json!({})).await.status(), 404);
    assert!(app.login("13800000002").await.json("/api/v1/me/notifications").await["items"][0]["read_at"].is_null(), "李明's stays unread");

    // Read all.
    assert_eq!(client.post_json("/api/v1/me/notifications/read-all", &serde_json::json!({})).await.status(), 204);
    let all = client.json("/api/v1/me/notifications").await;
    assert!(all["items"].as_array().unwrap().iter().all(|i| !i["read_at"].is_null()), "{all}");

    // The page's read-all form works without JavaScript.
    notify_inbox(&app, wang, "王芳4", "inbox:wang:4").await;
    let res = client.post_form("/me/notifications/read-all", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/me/notifications");
    let all = client.json("/api/v1/me/notifications").await;
    assert!(all["items"].as_array().unwrap().iter().all(|i| !i["read_at"].is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_from_two_transactions_at_once_queues_one_message() {
    // SQLite runs one write transaction at a time, so there is no race to test there.
    if !testkit::on_engine("postgres", "the_same_key_from_two_transactions_at_once_queues_one_message") {
        return;
    }
    let (app, gw) = TestApp::start_with_sms().await;
    let msg = message(Channel::Sms, "13800000001", "double-click:7");
    let now = app.state.now();
    let mut first = app.state.db.begin_write().await.unwrap();
    let first_id = notify::service::send(&mut first, now, &msg).await.unwrap();
    let second = {
        let (state, msg) = (app.state.clone(), msg.clone());
        tokio::spawn(async move {
            let mut tx = state.db.begin_write().await?;
            let id = notify::service::send(&mut tx, now, &msg).await?;
            tx.commit().await?;
            Ok::<i64, kernel::AppError>(id)
        })
    };
    // Wait (bounded) until the second transaction is blocked on the first one's row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        if waiting > 0 || second.is_finished() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the second transaction never reached the outbox");
        tokio::task::yield_now().await;
    }
    first.commit().await.unwrap();
    let second_id = second.await.unwrap().expect("a duplicate send is not an error");
    assert_eq!(first_id, second_id);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(rows, 1);
    assert_eq!(app.run_jobs().await, 1, "one delivery job");
    assert_eq!(gw.calls(), 1);
}

/// Every outbox row's params and link, as stored.
async fn stored_outbox(app: &TestApp) -> String {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT params, link FROM outbox").fetch_all(&app.state.db.pool).await.unwrap();
    rows.into_iter().map(|(params, link)| format!("{params} {}\n", link.unwrap_or_default())).collect()
}

#[tokio::test]
async fn secrets_leave_the_outbox_once_delivered_or_dead_lettered() {
    let (app, gw) = TestApp::start_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000090", "陈主任", c, &[Role::Admin]).await;
    let wang = app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let admin = app.login("13800000090").await;
    let delivered = queue(&app, &Message { community_id: Some(kernel::community::CommunityId::new(c)), ..message(Channel::Sms, "13800000001", "secret:1") }).await;
    // Waiting to be sent, the code is needed; administrators still never see it.
    assert!(stored_outbox(&app).await.contains("246810"));
    let pending = admin.json("/api/v1/admin/outbox?state=pending").await;
    assert_eq!(pending["items"][0]["id"], delivered);
    assert!(!pending.to_string().contains("246810"), "{pending}");
    assert!(!admin.page("/console/outbox?state=pending").await.contains("246810"));
    app.run_jobs().await;
    assert!(gw.sent()[0].text.contains("246810"), "the person got it");
    assert_eq!(outbox_row(&app, delivered).await.0, "sent");
    let after = stored_outbox(&app).await;
    assert!(!after.contains("246810") && after.contains("•••") && after.contains("\"minutes\":\"5\""), "only the secret goes: {after}");

    // A message that can never be delivered loses its secret when it is dead-lettered.
    gw.fail_next(usize::MAX / 2);
    let dead = queue(&app, &Message { params: vec![("code", "135791".into())], ..message(Channel::Sms, "13800000002", "secret:2") }).await;
    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        assert!(stored_outbox(&app).await.contains("135791"), "kept for attempt {attempt}");
        assert_eq!(app.run_jobs().await, 1);
        app.clock.advance(backoff_ms(attempt));
    }
    assert_eq!(outbox_row(&app, dead).await.0, "dead");
    assert!(!stored_outbox(&app).await.contains("135791"));

    // An inbox message is delivered as it is queued: its secret and link are never stored,
    // while the person's own inbox has them.
    let msg = Message {
        user_id: Some(kernel::auth::UserId::new(wang)),
        template: "case_rate",
        params: vec![("case", "7".into()), ("link", "http://x/r/tok-en_42".into())],
        secret_params: &["link"],
        link: Some("/r/tok-en_42".into()),
        ..message(Channel::Inbox, "", "secret:3")
    };
    queue(&app, &msg).await;
    assert!(!stored_outbox(&app).await.contains("tok-en_42"));
    let inbox = app.login("13800000001").await.json("/api/v1/me/notifications").await;
    assert_eq!(inbox["items"][0]["link"], "/r/tok-en_42");
    // Jobs are left behind: a dead letter is part of it.
    app.allow_leftover_jobs();
}


/// The text a person reads on a page: tags, attributes, scripts and styles left out.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        rest = &rest[open..];
        let skip_to = ["script", "style"].iter().find(|t| rest[1..].starts_with(*t)).map(|t| format!("</{t}>"));
        rest = match skip_to {
            Some(close) => rest.find(&close).map(|end| &rest[end + close.len()..]).unwrap_or(""),
            None => rest.find('>').map(|end| &rest[end + 1..]).unwrap_or(""),
        };
        text.push(' ');
    }
    text.push_str(rest);
    text
}

/// Codes that name things inside the program and must never reach a reader.
const RAW_CODES: &[&str] = &["case_rate", "case_update", "case_at_risk", "login_code", "first_response", "sms", "inbox"];

/// Fails when `text` shows a code; a Chinese page shows no lower-case ASCII word at all
/// (`dead`, `welcome`, `email` …).
fn assert_words_only(text: &str, what: &str, chinese: bool) {
    let words: Vec<&str> = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
    let raw: Vec<&&str> = words
        .iter()
        .filter(|w| RAW_CODES.contains(w) || w.contains('_') || (chinese && w.len() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase())))
        .collect();
    assert!(raw.is_empty(), "{what} shows the codes {raw:?}:\n{text}");
}

#[tokio::test]
async fn the_outbox_and_the_inbox_show_words_not_codes() {
    let (app, gw) = TestApp::start_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000090", "陈主任", c, &[Role::Admin]).await;
    let wang = app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    // A rating invitation by text that the gateway keeps refusing, and the same in the inbox.
    gw.fail_next(usize::MAX / 2);
    let rate = |channel, key: &str| Message {
        community_id: Some(kernel::community::CommunityId::new(c)),
        user_id: Some(kernel::auth::UserId::new(wang)),
        template: "case_rate",
        params: vec![("case", "7".into()), ("link", "http://linli.example/r/tok-en_7".into())],
        secret_params: &["link"],
        link: (channel == Channel::Inbox).then(|| "/r/tok-en_7".to_string()),
        ..message(channel, if channel == Channel::Sms { "13800000001" } else { "" }, key)
    };
    let sms = queue(&app, &rate(Channel::Sms, "words:sms")).await;
    queue(&app, &rate(Channel::Inbox, "words:inbox")).await;
    queue(&app, &Message { community_id: Some(kernel::community::CommunityId::new(c)), user_id: Some(kernel::auth::UserId::new(wang)), template: "case_update", params: vec![("case", "7".into()), ("state", "处理中".into())], secret_params: &[], link: Some("/cases/7".into()), ..message(Channel::Inbox, "", "words:update") }).await;
    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        app.run_jobs().await;
        app.clock.advance(backoff_ms(attempt));
    }
    assert_eq!(outbox_row(&app, sms).await.0, "dead");

    let admin = app.login("13800000090").await;
    let dead = visible_text(&admin.page("/console/outbox?state=dead").await);
    assert!(dead.contains("短信") && dead.contains("评价邀请") && dead.contains("短信网关拒绝发送") && dead.contains("503"), "{dead}");
    assert_words_only(&dead, "the dead letters", true);
    let sent = visible_text(&admin.page("/console/outbox?state=sent").await);
    assert!(sent.contains("站内消息") && sent.contains("评价邀请") && sent.contains("进展通知"), "{sent}");
    assert_words_only(&sent, "the sent messages", true);
    admin.post_form("/prefs/lang", &[("lang", "en"), ("next", "/")]).await;
    let english = visible_text(&admin.page("/console/outbox?state=dead").await);
    assert!(english.contains("Text message") && english.contains("Rating invitation") && english.contains("refused"), "{english}");
    assert_words_only(&english, "the dead letters in English", false);

    // The inbox names each link in words and never prints the address.
    let resident = app.login("13800000001").await;
    let html = resident.page("/me/notifications").await;
    let inbox = visible_text(&html);
    assert!(inbox.contains("去评价") && inbox.contains("查看反映") && inbox.contains("请在 7 天内评价"), "{inbox}");
    assert!(!inbox.contains("/r/") && !inbox.contains("/cases/7") && !inbox.contains("http"), "{inbox}");
    assert!(!inbox.contains("案件"), "a report is called 反映 or 问题: {inbox}");
    assert_words_only(&inbox, "the inbox", true);
    // Jobs are left behind: a dead letter is part of it.
    app.allow_leftover_jobs();
}

#[tokio::test]
async fn opening_a_message_marks_it_read_without_javascript() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    let wang = app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let li = app.user("13800000002", "李明", c, &[Role::Resident]).await;
    let update = queue(&app, &Message { community_id: Some(kernel::community::CommunityId::new(c)), user_id: Some(kernel::auth::UserId::new(wang)), template: "case_update", params: vec![("case", "7".into()), ("state", "处理中".into())], link: Some("/cases/7".into()), secret_params: &[], ..message(Channel::Inbox, "", "open:1") }).await;
    let welcome = queue(&app, &Message { user_id: Some(kernel::auth::UserId::new(wang)), template: "welcome", params: vec![("name", "王芳".into())], secret_params: &[], ..message(Channel::Inbox, "", "open:2") }).await;
    queue(&app, &Message { user_id: Some(kernel::auth::UserId::new(li)), template: "welcome", params: vec![("name", "李明".into())], secret_params: &[], ..message(Channel::Inbox, "", "open:3") }).await;
    let client = app.login("13800000001").await;
    let ids: Vec<i64> = client.json("/api/v1/me/notifications").await["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let (welcome_id, update_id) = (ids[0], ids[1]);
    assert!(update < welcome);
    let unread = |client: testkit::Client| async move {
        client.json("/api/v1/me/notifications").await["items"].as_array().unwrap().iter().filter(|i| i["read_at"].is_null()).map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    let page = client.page("/me/notifications").await;
    assert!(page.contains("2 条未读"), "{page}");
    assert!(page.contains(&format!("href=\"/me/notifications/{update_id}/open\"")) && page.contains(&format!("href=\"/me/notifications/{welcome_id}\"")), "{page}");

    // Following a message's link from the inbox reads it on the way.
    let res = client.get(&format!("/me/notifications/{update_id}/open")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/cases/7");
    assert_eq!(unread(client.clone()).await, vec![welcome_id]);
    // Opening one shows it whole and reads it.
    let opened = client.page(&format!("/me/notifications/{welcome_id}")).await;
    assert!(opened.contains("王芳，您好") && opened.contains("欢迎使用邻里"), "{opened}");
    assert!(unread(client.clone()).await.is_empty());
    assert!(!client.page("/me/notifications").await.contains("条未读"));
    // Opening it again is no error; a message without a link opens as itself.
    assert_eq!(client.get(&format!("/me/notifications/{welcome_id}")).await.status(), 200);
    let res = client.get(&format!("/me/notifications/{welcome_id}/open")).await;
    assert_eq!(res.headers()["location"], format!("/me/notifications/{welcome_id}").as_str());

    // Someone else's message, or none, is not found and stays unread.
    let li_client = app.login("13800000002").await;
    let li_id = li_client.json("/api/v1/me/notifications").await["items"][0]["id"].as_i64().unwrap();
    assert_eq!(client.get(&format!("/me/notifications/{li_id}")).await.status(), 404);
    assert_eq!(client.get(&format!("/me/notifications/{li_id}/open")).await.status(), 404);
    for odd in ["abc", "-1", "0", "1.5", "99999999999999999999999", "%EF%BC%91%EF%BC%92", "%F0%9F%98%80", "1%00", "%E2%80%AE7"] {
        for path in [format!("/me/notifications/{odd}"), format!("/me/notifications/{odd}/open")] {
            assert_eq!(client.get(&path).await.status(), 404, "{path}");
        }
    }
    assert_eq!(unread(li_client).await, vec![li_id]);
    // A visitor is asked to log in.
    let res = app.client().get(&format!("/me/notifications/{welcome_id}")).await;
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn a_missed_clock_reaches_staff_in_words() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000090", "陈主任", c, &[Role::Admin]).await;
    app.user("13800000091", "周晓梅", c, &[Role::Staff]).await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let resident = app.login("13800000001").await;
    let res = resident.post_json("/api/v1/communities/t/cases", &serde_json::json!({"text": "楼道里堆了很多纸箱，挡住了消防通道"})).await;
    assert_eq!(res.status(), 201);
    // Nobody answers: the first response is warned of, then missed and escalated by text.
    for _ in 0..3 {
        app.clock.advance(kernel::clock::HOUR);
        app.run_jobs().await;
    }
    let staff = app.login("13800000091").await;
    let inbox = staff.json("/api/v1/me/notifications").await;
    assert!(inbox["items"].as_array().unwrap().len() >= 2, "a warning and a breach: {inbox}");
    let page = visible_text(&staff.page("/me/notifications").await);
    assert!(page.contains("超时"), "{page}");
    assert_words_only(&page, "the staff member's inbox", true);
    let admin = app.login("13800000090").await;
    for state in ["sent", "pending", "failed", "dead"] {
        let page = visible_text(&admin.page(&format!("/console/outbox?state={state}")).await);
        assert_words_only(&page, &format!("the outbox ({state})"), true);
    }
}

/// The outbox names who each message went to: an in-app message by the recipient's name, a
/// text by name and masked number, never the same "own account" for everyone.
#[tokio::test]
async fn the_outbox_names_each_recipient() {
    let app = TestApp::start().await;
    let community = app.community("renjia", "南京人家社区").await;
    app.user("13900000000", "陈主任", community, &[Role::Admin]).await;
    let li = app.user("13800005678", "李秀英", community, &[Role::Resident]).await;
    let zhang = app.user("13800001234", "张伟", community, &[Role::Family]).await;
    for (user, to, key, channel) in [(li, "13800005678", "m1", Channel::Inbox), (zhang, "13800001234", "m2", Channel::Inbox), (zhang, "13800001234", "m3", Channel::Sms)] {
        let mut msg = message(channel, to, key);
        msg.community_id = Some(kernel::community::CommunityId::new(community));
        msg.user_id = Some(kernel::auth::UserId::new(user));
        queue(&app, &msg).await;
    }
    let admin = app.login("13900000000").await;
    let sent = admin.page("/console/outbox?state=sent").await;
    assert!(sent.contains("<td>李秀英</td>") && sent.contains("<td>张伟</td>"), "{sent}");
    assert!(!sent.contains("本人账号"));
    let pending = admin.page("/console/outbox?state=pending").await;
    assert!(pending.contains("张伟（138****1234）"), "{pending}");
    // Run the jobs the test started, so that they are checked too.
    app.run_jobs().await;
    app.stop().await;
}

#[tokio::test]
async fn delivered_messages_and_finished_jobs_are_purged_after_the_retention_period() {
    let (app, gw) = TestApp::start_with_sms().await;
    queue(&app, &message(Channel::Sms, "13800000001", "kept-for-a-while")).await;
    app.run_jobs().await;
    assert_eq!(gw.sent().len(), 1);
    let count = |sql: &'static str| {
        let pool = app.state.db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await, 1);
    let done = count("SELECT COUNT(*) FROM jobs WHERE state = 'done'").await;
    assert!(done >= 1);
    // Within the retention period nothing goes.
    app.clock.advance(89 * DAY);
    let purged = kernel::jobs::housekeeping(&app.state).await.unwrap();
    assert!(purged.iter().all(|(_, n)| *n == 0), "{purged:?}");
    // After it, the delivered message and the finished jobs go.
    app.clock.advance(2 * DAY);
    let purged = kernel::jobs::housekeeping(&app.state).await.unwrap();
    assert!(purged.contains(&("notify", 1)) && purged.contains(&("jobs", done as u64)), "{purged:?}");
    assert_eq!(count("SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM jobs WHERE state = 'done'").await, 0);
}
