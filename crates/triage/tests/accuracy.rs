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

/// The files, in the order they were written. "models trained without it" retrains the naive
/// Bayes models without the file (and without any example of the same text): an honest check
/// of the learned part; the lexicon has seen every file but the test set.
const FILES: [&str; 10] = ["examples.tsv", "validation-1.tsv", "validation-2.tsv", "validation-3.tsv", "validation-4.tsv", "validation-5.tsv", "validation-6.tsv", "validation-7.tsv", "validation-8.tsv", "test-final.tsv"];

#[test]
fn per_file_figures() {
    for f in FILES {
        let acc = triage::evaluate_file(f);
        let held = triage::evaluate_file_held_out(f);
        println!(
            "per file {f:<18} {:>3} examples, urgency {:.1}%, category {:.1}%, critical below urgent: {}; models trained without it: urgency {:.1}%, category {:.1}%, critical below urgent: {}, ordinary raised to urgent: {}",
            acc.total,
            100.0 * acc.urgency_correct as f64 / acc.total as f64,
            100.0 * acc.category_correct as f64 / acc.total as f64,
            acc.critical_missed,
            100.0 * held.urgency_correct as f64 / held.total as f64,
            100.0 * held.category_correct as f64 / held.total as f64,
            held.critical_missed,
            held.raised
        );
        // What the safety floor costs: ordinary reports ranked urgent or critical.
        for (text, expected, got) in &held.errors {
            let ordinary = expected.starts_with("normal/") || expected.starts_with("low/");
            if ordinary && (got.starts_with("urgent/") || got.starts_with("critical/")) {
                println!("  {f}: raised {expected:<20} got {got:<20} {text}");
            }
        }
    }
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
/// seen, with no critical report ranked below urgent. The fresh test sets measured once each:
/// - round 5: urgency 93.3 %, category 92.7 %, 2 critical reports below urgent;
/// - round 6: urgency 93.0 %, category 96.0 %, 1 critical report below urgent;
/// - round 7: urgency 92.7 %, category 95.7 %, 1 critical report below urgent;
/// - round 8: urgency 92.3 %, category 95.3 %, 1 critical report below urgent;
/// - round 9 (`test-final.tsv`, untouched since): urgency 95.0 %, category 96.3 %, 2 critical
///   reports below urgent (a missing eight-year-old described without the word "missing", and
///   an English threat to kill).
/// Rounds 5–8 are now validation files (`validation-5.tsv` … `validation-8.tsv`).
/// The accuracy targets are met on every fresh set; **the rule that no critical report is
/// ranked below urgent is not**: 1–2 of 45–61 critical reports per fresh set. These floors keep
/// the measured figures from slipping (and fail if a critical miss is added); they are not the
/// requirement. The filer's "danger right now" tick on the report form makes a case critical
/// whatever the triage reads.
#[test]
fn test_set_accuracy_does_not_slip() {
    report("train", Split::Train);
    report("validation", Split::Validation);
    let acc = report("test", Split::Test);
    let urgency = acc.urgency_correct as f64 / acc.total as f64;
    let category = acc.category_correct as f64 / acc.total as f64;
    assert!(urgency >= 0.95, "urgency accuracy {urgency:.3} fell below the measured 0.95");
    assert!(category >= 0.96, "category accuracy {category:.3} fell below the measured 0.96 (target 0.85)");
    assert!(acc.critical_missed <= 2, "{} critical test reports ranked below urgent (measured: 2)", acc.critical_missed);
}

/// On the examples that shaped the classifier (measured 98.9 % urgency and 99.0 % category
/// with `validation-8.tsv` folded in), the target is met with room to spare. These are not a
/// measure of accuracy on unseen reports: the lexicon was written against their errors.
#[test]
fn validation_accuracy_meets_the_target() {
    let acc = evaluate(Split::Validation);
    let urgency = acc.urgency_correct as f64 / acc.total as f64;
    let category = acc.category_correct as f64 / acc.total as f64;
    assert!(urgency >= 0.988, "validation urgency {urgency:.3} fell below the measured 0.989");
    assert!(category >= 0.989, "validation category {category:.3} fell below the measured 0.990");
    assert_eq!(acc.critical_missed, 0);
}

#[test]
fn no_critical_report_that_shaped_the_classifier_is_ranked_below_urgent() {
    // The test set's measured misses are kept as measured (see above); every other file holds.
    let missed: Vec<&str> = examples()
        .iter()
        .filter(|e| e.split != Split::Test)
        .filter(|e| e.urgency == Urgency::Critical && triage::classify(e.text).urgency < Urgency::Urgent)
        .map(|e| e.text)
        .collect();
    assert!(missed.is_empty(), "critical reports ranked below urgent: {missed:#?}");
}
