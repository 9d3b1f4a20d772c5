//! Accuracy on the test examples (`data/test-final.tsv`), which neither trained the model nor
//! guided the lexicon. Run with `--nocapture` to see the figures and the misclassified reports.

use triage::{evaluate, examples, Split, Urgency};

fn report(name: &str, split: Split) -> triage::Accuracy {
    let acc = evaluate(split);
    println!(
        "{name}: {} examples, urgency {:.1}%, category {:.1}%, critical below urgent: {}",
        acc.total,
        100.0 * acc.urgency_correct as f64 / acc.total as f64,
        100.0 * acc.category_correct as f64 / acc.total as f64,
        acc.critical_missed
    );
    for (text, expected, got) in &acc.errors {
        println!("  expected {expected:<20} got {got:<20} {text}");
    }
    acc
}

#[test]
fn the_labelled_set_is_big_and_covers_every_label() {
    let all = examples();
    assert!(all.len() >= 300, "{} examples", all.len());
    for u in Urgency::ALL {
        assert!(all.iter().filter(|e| e.urgency == u).count() >= 30, "{u:?}");
    }
    for c in triage::Category::ALL {
        assert!(all.iter().filter(|e| e.category == c).count() >= 20, "{c:?}");
    }
    let test = all.iter().filter(|e| e.split == Split::Test).count();
    assert!(test >= 150, "a separate test set: {test}");
}

/// The target is urgency >= 90 % and category >= 85 % on a test set the classifier has never
/// seen. The latest fresh test set (`test-final.tsv`) measured urgency 85.8 % and category
/// 93.8 %: the category target is met, the urgency target is not yet (see docs/triage.md).
/// These floors keep the measured figures from slipping while the lexicon grows; raise them
/// as a new fresh test set shows better figures.
#[test]
fn test_set_accuracy_does_not_slip() {
    report("train", Split::Train);
    report("validation", Split::Validation);
    let acc = report("test", Split::Test);
    let urgency = acc.urgency_correct as f64 / acc.total as f64;
    let category = acc.category_correct as f64 / acc.total as f64;
    assert!(urgency >= 0.85, "urgency accuracy {urgency:.3} fell below the measured 0.85");
    assert!(category >= 0.90, "category accuracy {category:.3} fell below the measured 0.90 (target 0.85)");
    assert_eq!(acc.critical_missed, 0, "a critical test report was ranked below urgent");
}

/// On the examples that shaped the classifier, the target is met with room to spare.
#[test]
fn validation_accuracy_meets_the_target() {
    let acc = evaluate(Split::Validation);
    assert!(acc.urgency_correct as f64 / acc.total as f64 >= 0.90);
    assert!(acc.category_correct as f64 / acc.total as f64 >= 0.85);
}

#[test]
fn no_critical_report_is_ever_ranked_below_urgent() {
    let missed: Vec<&str> = examples()
        .iter()
        .filter(|e| e.urgency == Urgency::Critical && triage::classify(e.text).urgency < Urgency::Urgent)
        .map(|e| e.text)
        .collect();
    assert!(missed.is_empty(), "critical reports ranked below urgent: {missed:#?}");
}
