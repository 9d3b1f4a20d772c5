//! Triage answers every text a person can type, without panicking: arbitrary Unicode (CJK
//! with full-width punctuation, emoji, combining marks, mixed scripts, control characters)
//! up to the length limit, and every prefix and suffix of every labelled report — a cut can
//! fall anywhere, inside a phrase or right after a full-width mark.

use proptest::prelude::*;
use triage::{classify, corpus, try_classify};

/// The longest report a case accepts.
const MAX_CHARS: usize = 2000;

/// Characters people type into a report, weighted towards the hard ones.
fn typed_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('\u{4e00}', '\u{9fff}'),
        3 => proptest::sample::select(vec!['，', '。', '？', '！', '：', '；', '、', '（', '）', '“', '”', '…', '—', '　', '·', '《', '》']),
        1 => proptest::char::range('\u{ff01}', '\u{ff5e}'),
        2 => proptest::sample::select(vec!['😀', '🔥', '🚒', '👵', '❤', '\u{fe0f}', '\u{200d}', '🧑', '🏻']),
        1 => proptest::char::range('\u{0300}', '\u{036f}'),
        2 => proptest::char::range(' ', '~'),
        1 => proptest::sample::select(vec!['\n', '\t', '\r', '\u{0}', '\u{1}', '\u{7f}', '\u{85}', '\u{2028}', '\u{feff}']),
        1 => any::<char>(),
    ]
}

fn report(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(typed_char(), 0..max).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_short_text_gets_an_answer(text in report(80)) {
        let t = try_classify(&text);
        prop_assert!(t.is_ok(), "{text:?}");
        let t = t.unwrap();
        prop_assert!((0.0..=1.0).contains(&t.urgency_confidence) && (0.0..=1.0).contains(&t.category_confidence), "{t:?}");
        // Every reason's words are the writer's own (or a code).
        for r in &t.reasons {
            prop_assert!(text.contains(&r.phrase), "{r:?} not in {text:?}");
        }
    }

    #[test]
    fn any_text_up_to_the_limit_gets_an_answer(text in report(MAX_CHARS)) {
        prop_assert!(try_classify(&text).is_ok());
    }

    #[test]
    fn labelled_reports_with_noise_inside_get_an_answer(i in 0usize..10_000, at in 0usize..400, noise in report(6)) {
        let all = corpus();
        let text = all[i % all.len()].text;
        let cut = text.char_indices().map(|(b, _)| b).nth(at % text.chars().count().max(1)).unwrap_or(0);
        let mixed = format!("{}{noise}{}", &text[..cut], &text[cut..]);
        prop_assert!(try_classify(&mixed).is_ok(), "{mixed:?}");
    }
}

#[test]
fn every_prefix_and_suffix_of_every_labelled_report_gets_an_answer() {
    let all = corpus();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (cuts, failed) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut cuts = 0usize;
                    let mut failed = Vec::new();
                    for e in all.iter().skip(t).step_by(threads) {
                        for (b, _) in e.text.char_indices().skip(1) {
                            for part in [&e.text[..b], &e.text[b..]] {
                                cuts += 1;
                                if try_classify(part).is_err() {
                                    failed.push(part.to_string());
                                }
                            }
                        }
                    }
                    (cuts, failed)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).fold((0, Vec::new()), |(n, mut f), (m, g)| {
            f.extend(g);
            (n + m, f)
        })
    });
    assert!(cuts > 100_000, "{cuts} cuts");
    assert!(failed.is_empty(), "{} of {cuts} cuts failed, e.g. {:?}", failed.len(), &failed[..failed.len().min(5)]);
}

#[test]
fn a_polite_report_of_a_gas_smell_is_classified_critical() {
    let text = "您好，不好意思打扰了，我是刚搬来的租户，住15栋。楼道里从刚才开始有一股很冲的臭鸡蛋味，\
                我下楼的时候越往下越浓，不知道是不是天然气漏了，我不太懂，需要我做什么吗？要不要去敲邻居的门？";
    let t = try_classify(text).expect("an answer");
    assert!(t.urgency >= triage::Urgency::Urgent, "{t:?}");
    // The same with ASCII commas, as the review typed it.
    let ascii = text.replace('，', ",").replace('？', "?");
    assert!(try_classify(&ascii).is_ok());
    assert_eq!(classify(text).urgency, t.urgency);
}

/// Text with no word the models learned from (a key held down, a word repeated, digits) is
/// unsure and never critical from its form alone: critical texts the staff on duty at once,
/// and a line of junk from anyone must not page them.
#[test]
fn junk_is_never_critical() {
    let junk = ["a".repeat(150), "test ".repeat(40), "1".repeat(200), "。".repeat(300), "!?".repeat(100), "qwertyuiop".repeat(20)];
    for text in &junk {
        let t = triage::classify(text);
        assert!(t.urgency < triage::Urgency::Critical, "{:?}…: {t:?}", text.chars().take(12).collect::<String>());
        assert!(t.to_review, "unsure: {t:?}");
    }
    // A real emergency in few words still is.
    assert_eq!(triage::classify("救命！着火了").urgency, triage::Urgency::Critical);
}
