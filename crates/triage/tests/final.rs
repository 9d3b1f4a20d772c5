//! The final test set (`data/final/`): reports written in kinds of voice none of the training
//! data was (people who work in the community but live elsewhere, messages relayed second-hand,
//! residents writing in their home region's dialect), by writers who saw only the labelling
//! guide and no report of the project. Never part of training (the build script does not read
//! `data/final/`); measured with the shipped models. When a final set has been measured often
//! enough that changes are being judged by it, it moves into `data/voices/` and a new one is
//! written (docs/triage.md, "How well it works").

use triage::{evaluate, parse_labelled, Accuracy, Classifier};

fn final_set() -> Vec<(String, Vec<(triage::Urgency, triage::Category, String)>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/final");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("data/final").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), parse_labelled(&std::fs::read_to_string(&p).unwrap())))
        .collect()
}

#[test]
fn the_final_set_meets_the_bars() {
    let shipped = Classifier::shipped();
    let mut all = Accuracy::default();
    for (name, reports) in final_set() {
        let acc = evaluate(shipped, reports.iter().map(|(u, c, t)| (*u, *c, t.as_str())));
        println!(
            "{name:<14} {:>4}  urgency {:5.1}%  category {:5.1}%  critical {}/{} found, {} below urgent, {} of {} ranked critical wrongly, review {}",
            acc.total, acc.urgency(), acc.category(), acc.critical_found, acc.critical, acc.critical_missed, acc.false_critical, acc.ranked_critical, acc.to_review
        );
        if std::env::var("SHOW_ERRORS").is_ok() {
            for (t, e, g) in &acc.errors {
                println!("    expected {e:<20} got {g:<28} {t}");
            }
        }
        all.add(acc);
    }
    println!(
        "final {} urgency {:.1}% category {:.1}% critical below urgent {} false critical {}/{} review {} (of the rest: urgency {:.1}% category {:.1}%)",
        all.total,
        all.urgency(),
        all.category(),
        all.critical_missed,
        all.false_critical,
        all.ranked_critical,
        all.to_review,
        100.0 * all.confident_urgency_correct as f64 / (all.total - all.to_review).max(1) as f64,
        100.0 * all.confident_category_correct as f64 / (all.total - all.to_review).max(1) as f64,
    );
    assert!(all.total >= 150);
    // The second final set, measured twice (docs/triage.md): first urgency 93.3 %, category
    // 92.2 %, 2 of 31 critical reports below urgent; then, after the critical floor was chosen
    // on the voices left out, 92.8 %, 92.2 %, none below urgent, 3 of 30 ranked critical wrongly.
    // The bars of the issue: urgency 92 %, category 90 %, none below urgent, at most 1 in 10.
    assert!(all.urgency() >= 92.0, "urgency {:.1}%", all.urgency());
    assert!(all.category() >= 90.0, "category {:.1}%", all.category());
    assert!(all.critical_missed == 0, "{} critical below urgent", all.critical_missed);
    assert!(all.false_critical * 10 <= all.ranked_critical, "{} of {} ranked critical wrongly", all.false_critical, all.ranked_critical);
}
