//! The safety layer (`data/safety.toml`): its rules parse, each trigger is right on the labelled
//! reports nearly every time it fires, the words around a trigger are read as people mean them,
//! and it only ever raises a report.

use triage::safety::{Rules, RULES};
use triage::{classify, corpus, normalise, Category, Urgency};

fn hit(text: &str) -> Option<String> {
    RULES.hits(&normalise(text)).first().map(|h| h.trigger.name.clone())
}

#[test]
fn the_rules_parse_and_bad_rules_are_refused() {
    assert!(RULES.triggers.len() >= 10);
    assert!(Rules::parse("[context]\nreach = 1").is_err());
    let bad = include_str!("../data/safety.toml").replacen("urgency = \"critical\"", "urgency = \"soon\"", 1);
    assert!(Rules::parse(&bad).unwrap_err().contains("urgency"));
}

/// Each trigger, on every labelled report it fires on: how often the report is labelled at
/// least as urgent as the trigger says. A trigger that is wrong more often is not a
/// high-precision wording and belongs to the model, not to this list.
#[test]
fn each_trigger_is_right_nearly_every_time_it_fires() {
    let mut failures = Vec::new();
    for t in &RULES.triggers {
        let fired: Vec<_> = corpus()
            .iter()
            .filter(|e| RULES.hits(&normalise(e.text)).iter().any(|h| h.trigger.name == t.name))
            .collect();
        let right = fired.iter().filter(|e| e.urgency >= t.urgency()).count();
        let wrong: Vec<_> = fired.iter().filter(|e| e.urgency < t.urgency()).map(|e| (e.urgency.code(), e.text)).collect();
        let at_least_urgent = fired.iter().filter(|e| e.urgency >= Urgency::Urgent).count();
        println!("{:<22} fired {:>4}  right {:>4}  at least urgent {:>4}", t.name, fired.len(), right, at_least_urgent);
        for w in wrong.iter().take(if std::env::var("SHOW_WRONG").is_ok() { 50 } else { 0 }) {
            println!("    {:?}", w);
        }
        if fired.len() >= 5 && (right as f64) < 0.8 * fired.len() as f64 {
            failures.push(format!("{}: {right}/{}", t.name, fired.len()));
        }
        if fired.len() >= 5 && (at_least_urgent as f64) < 0.9 * fired.len() as f64 {
            failures.push(format!("{} at least urgent: {at_least_urgent}/{}", t.name, fired.len()));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_danger_is_read_in_its_context() {
    // Present dangers, however worded around.
    for text in [
        "楼道里一股煤气味",
        "停车位又被占了，另外楼上小孩站在空调外机上，没有大人",
        "我妈电话打了两天都没人接，她一个人住",
        "电梯困人了，里面有老人",
        "他说不想活了，站在天台边上",
        "以前摔过一次，刚才又摔倒了起不来",
        "smoke alarm going off and I smell gas",
    ] {
        assert!(hit(text).is_some(), "{text}");
        assert_eq!(classify(text).urgency, Urgency::Critical, "{text}");
    }
    // Denied, imagined, past, only talked about, or over.
    for text in [
        "没闻到煤气味，就是燃气灶打不着火",
        "万一着火了怎么办，建议配灭火器",
        "去年楼道着火那次多亏了保安",
        "社区组织消防演练，模拟着火疏散",
        "孩子走丢了两个小时，已经找到了，谢谢大家",
        "气得我想杀人，物业电话永远没人接",
        "燃气报警器一直响，原来是电池没电了",
    ] {
        assert!(hit(text).is_none(), "{text}: {:?}", hit(text));
    }
}

#[test]
fn the_layer_only_raises_and_files_under_its_category() {
    for e in corpus().iter().step_by(7) {
        let hits = RULES.hits(&normalise(e.text));
        if let Some(h) = hits.first() {
            let t = classify(e.text);
            assert!(t.urgency >= h.trigger.urgency(), "{} {:?}", e.text, t);
        }
    }
    let t = classify("有个人站在楼顶说要跳楼，楼下停车场一直乱停车");
    assert_eq!((t.urgency, t.category), (Urgency::Critical, Category::Safety), "{t:?}");
    assert!(t.alerts_everyone());
    assert!(t.reasons.first().is_some_and(|r| r.phrase.contains("跳楼") && r.supports == "urgency:critical"), "{:?}", t.reasons);
}

#[test]
fn a_short_cry_for_help_is_critical() {
    // Reports a reviewer typed as a frightened person would, at their shortest.
    for text in ["救命", "救命！！", "好难受，喘不上气", "Help!", "FIRE! building 3", "我爸呼吸困难，嘴唇发紫"] {
        let t = triage::classify(text);
        assert_eq!(t.urgency, triage::Urgency::Critical, "{text}: {t:?}");
    }
    // Idioms that hold the words.
    for text in ["这笔钱是我家的救命钱，社区能不能帮忙问问低保", "社区就是我们的救命稻草，谢谢你们"] {
        let t = triage::classify(text);
        assert_ne!(t.urgency, triage::Urgency::Critical, "{text}: {t:?}");
    }
}
