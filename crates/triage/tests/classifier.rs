//! The classifier's contract: what it answers, how sure it says it is, the words it shows, its
//! stored form, and retraining on a community's corrections.

use triage::{classify, corpus, normalise, retrain, Category, Classifier, Correction, Urgency};

#[test]
fn reasons_are_the_writers_own_words() {
    let t = classify("3栋楼道里好大一股煤气味，快来人");
    assert_eq!((t.urgency, t.category), (Urgency::Critical, Category::Safety), "{t:?}");
    assert!(t.reasons.first().is_some_and(|r| r.phrase == "煤气味" && r.supports == "urgency:critical"), "{:?}", t.reasons);
    let t = classify("建议在小区里多放几张长椅，老人散步可以歇歇脚");
    assert_eq!((t.urgency, t.category), (Urgency::Low, Category::Suggestion), "{t:?}");
    assert!(t.reasons.iter().all(|r| "建议在小区里多放几张长椅，老人散步可以歇歇脚".contains(&r.phrase)), "{:?}", t.reasons);
    assert!(t.model.starts_with("shipped-"));
}

#[test]
fn traditional_characters_and_full_width_read_as_simplified() {
    assert_eq!(normalise("樓道裡有煤氣味！ＧＡＳ"), "楼道里有煤气味!gas");
    let t = classify("樓道裡有很濃的煤氣味");
    assert_eq!(t.urgency, Urgency::Critical, "{t:?}");
}

#[test]
fn unsure_answers_go_to_staff_and_sure_critical_ones_alert_everyone() {
    // Nothing to read: the classifier must not pretend.
    for text in ["嗯", "？？？", "👍", "asdfgh"] {
        let t = classify(text);
        assert!(t.to_review, "{text}: {t:?}");
        assert!(!t.alerts_everyone(), "{text}: {t:?}");
    }
    let t = classify("电梯卡在5楼和6楼中间，里面关着一个老人和一个小孩，按警铃没人应");
    assert_eq!(t.urgency, Urgency::Critical, "{t:?}");
    assert!(t.alerts_everyone() && !t.to_review, "{t:?}");
    // Every answer's confidences are probabilities.
    for e in corpus().iter().step_by(37) {
        let t = classify(e.text);
        assert!((0.0..=1.0).contains(&t.urgency_confidence) && (0.0..=1.0).contains(&t.category_confidence), "{t:?}");
        assert_eq!(t.to_review, t.urgency_confidence < triage::REVIEW_BELOW || t.category_confidence < triage::REVIEW_BELOW);
    }
}

#[test]
fn the_stored_form_classifies_as_the_trained_models_do() {
    let trained = Classifier::train_without(|e| e.kind != "wechat");
    let stored = Classifier::from_bytes("stored", &trained.to_bytes()).expect("reads back");
    let sample: Vec<_> = corpus().iter().step_by(3).collect();
    let same = sample
        .iter()
        .filter(|e| {
            let (a, b) = (trained.classify(e.text), stored.classify(e.text));
            a.urgency == b.urgency && a.category == b.category
        })
        .count();
    assert!(same * 1000 >= sample.len() * 995, "{same} of {}", sample.len());
    assert!(Classifier::from_bytes("x", b"not a model").is_none());
    assert!(Classifier::from_bytes("x", &trained.to_bytes()[..100]).is_none());
}

#[test]
fn retraining_learns_a_communitys_corrections_and_switches_only_when_not_worse() {
    // This community files reports about the square-dance speakers under disputes, urgently.
    let corrections: Vec<Correction> = (0..20)
        .map(|i| Correction {
            text: format!("{}栋门口广场舞音响第{}次放到晚上十点半，老人孩子都睡不了", i % 12 + 1, i + 1),
            urgency: Urgency::Urgent,
            category: Category::Dispute,
        })
        .collect();
    let shipped = Classifier::shipped();
    let r = retrain(shipped, "nanjing-renjia-1", &corrections, 0);
    assert_eq!(r.held_out, 4);
    assert!(r.not_worse(), "before {:?} after {:?}", r.before.urgency_correct, r.after.urgency_correct);
    let t = r.classifier.classify("7栋门口广场舞音响又放到晚上十点半，老人孩子都睡不了");
    assert_eq!((t.urgency, t.category), (Urgency::Urgent, Category::Dispute), "{t:?}");
    assert_eq!(t.model, "nanjing-renjia-1");
    // Corrections that make it worse on the held-out ones are not switched to.
    let noise: Vec<Correction> = (0..10)
        .map(|i| Correction {
            text: if i % 5 == 4 { "楼道里一股很浓的煤气味".into() } else { format!("第{i}个煤气味很浓的楼道") },
            urgency: if i % 5 == 4 { Urgency::Critical } else { Urgency::Low },
            category: if i % 5 == 4 { Category::Safety } else { Category::Suggestion },
        })
        .collect();
    let r = retrain(shipped, "noise", &noise, 0);
    assert!(r.before.urgency_correct >= r.after.urgency_correct);
}
