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
const FILES: [&str; 13] = ["examples.tsv", "validation-1.tsv", "validation-2.tsv", "validation-3.tsv", "validation-4.tsv", "validation-5.tsv", "validation-6.tsv", "validation-7.tsv", "validation-8.tsv", "validation-9.tsv", "validation-10.tsv", "validation-11.tsv", "test-final.tsv"];

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
/// - round 9: urgency 95.0 %, category 96.3 %, 2 critical reports below urgent (a missing
///   eight-year-old described without the word "missing", and an English threat to kill);
/// - round 10: urgency 91.7 %, category 95.0 %, 1 critical report below urgent (a threat to set
///   a flat on fire after oil was poured at its door);
/// - round 11: urgency 94.0 %, category 94.7 %, 1 critical report below urgent (a threat to come
///   with others and attack "tomorrow");
/// - round 12 (`test-final.tsv`, 301 reports, untouched since): urgency 93.0 %, category 95.0 %,
///   **no critical report below urgent** (7 of its 57 critical reports ranked urgent).
/// Rounds 5–11 are now validation files (`validation-5.tsv` … `validation-11.tsv`).
/// All three bars hold on round 12; on each of the seven fresh sets before it, 1–2 critical
/// reports fell below urgent, so a clean set is evidence, not proof, that none ever will. These
/// floors keep the measured figures from slipping. The filer's "danger right now" tick on the
/// report form makes a case critical whatever the triage reads.
#[test]
fn test_set_accuracy_does_not_slip() {
    report("train", Split::Train);
    report("validation", Split::Validation);
    let acc = report("test", Split::Test);
    let urgency = acc.urgency_correct as f64 / acc.total as f64;
    let category = acc.category_correct as f64 / acc.total as f64;
    assert!(urgency >= 0.93, "urgency accuracy {urgency:.3} fell below the measured 0.930");
    assert!(category >= 0.95, "category accuracy {category:.3} fell below the measured 0.950 (target 0.85)");
    assert_eq!(acc.critical_missed, 0, "a critical test report was ranked below urgent");
}

/// On the examples that shaped the classifier (measured 98.9 % urgency and 98.3 % category
/// with `validation-11.tsv` folded in and the guard added; 98.4 % category after the lost-pet fix), the target is met with room to spare. These are not a
/// measure of accuracy on unseen reports: the lexicon was written against their errors.
#[test]
fn validation_accuracy_meets_the_target() {
    let acc = evaluate(Split::Validation);
    let urgency = acc.urgency_correct as f64 / acc.total as f64;
    let category = acc.category_correct as f64 / acc.total as f64;
    assert!(urgency >= 0.989, "validation urgency {urgency:.4} fell below the measured 0.989");
    assert!(category >= 0.983, "validation category {category:.4} fell below the measured 0.984");
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

/// Every file's figures, with the models trained with it and without it, and the danger net
/// cross-validated: with the learned models (the danger net's among them) trained without each
/// file in turn, no critical report of any file that shaped the classifier ranks below urgent,
/// and every file, the test set included, meets the accuracy bars. The lexicon, the net's cues
/// among it, saw every file but the test set, so this checks the learned part and the cues
/// together, not recall on unseen wording. One pass: each file's models are trained once.
#[test]
fn no_critical_report_ranks_below_urgent_with_each_file_left_out() {
    let mut raised = 0;
    let mut total = 0;
    let mut correct = 0;
    for f in FILES {
        let acc = triage::evaluate_file(f);
        let held = triage::evaluate_file_held_out(f);
        let urgency = held.urgency_correct as f64 / held.total as f64;
        let category = held.category_correct as f64 / held.total as f64;
        println!(
            "per file {f:<18} {:>3} examples, urgency {:.1}%, category {:.1}%, critical below urgent: {}; models trained without it: urgency {:.1}%, category {:.1}%, critical below urgent: {}, ordinary raised to urgent: {}",
            acc.total,
            100.0 * acc.urgency_correct as f64 / acc.total as f64,
            100.0 * acc.category_correct as f64 / acc.total as f64,
            acc.critical_missed,
            100.0 * urgency,
            100.0 * category,
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
        assert!(urgency >= 0.90 && category >= 0.85, "{f}: urgency {urgency:.3}, category {category:.3} with the models trained without it");
        if f == "test-final.tsv" {
            continue;
        }
        assert_eq!(held.critical_missed, 0, "{f}: critical reports below urgent with the file left out");
        raised += held.raised;
        total += held.total;
        correct += held.urgency_correct;
    }
    let urgency = correct as f64 / total as f64;
    println!("left out one file at a time: {total} examples, urgency {:.1}%, ordinary raised to urgent: {raised}", 100.0 * urgency);
    assert!(urgency >= 0.92, "held-out urgency {urgency:.3} below 0.92");
}
