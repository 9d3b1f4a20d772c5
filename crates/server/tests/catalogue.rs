//! The translation catalogues (the kernel's and every capability's, merged) as a reader meets
//! them: every key in both languages with the same placeholders, Chinese written with full-width
//! punctuation and English with ASCII.

use kernel::i18n::{keys, t, Locale};
use std::collections::BTreeSet;

/// ASCII punctuation that Chinese prose writes full-width.
const ASCII_IN_ZH: &[char] = &[',', '?', '!', ':', ';', '(', ')'];
/// Full-width punctuation that has no place in English.
const FULL_WIDTH_IN_EN: &[char] = &['，', '。', '？', '！', '：', '；', '（', '）', '、', '【', '】'];

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        out.insert(rest[start + 1..start + len].to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

/// `text` with what is not prose blanked out: placeholders, URLs, and `:` or `,` between two
/// digits (a time such as 08:30, a number such as 1,000).
fn prose(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            if let Some(len) = chars[i..].iter().position(|&d| d == '}') {
                out.push('_');
                i += len + 1;
                continue;
            }
        }
        let rest: String = chars[i..].iter().take(8).collect();
        if rest.starts_with("http://") || rest.starts_with("https://") {
            while i < chars.len() && !chars[i].is_whitespace() && !FULL_WIDTH_IN_EN.contains(&chars[i]) {
                i += 1;
            }
            out.push('_');
            continue;
        }
        let between_digits = i > 0 && i + 1 < chars.len() && chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit();
        out.push(if matches!(c, ':' | ',') && between_digits { '_' } else { c });
        i += 1;
    }
    out
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// One line per offending key.
fn offenders(check: impl Fn(&str, &str, &str) -> Option<String>) -> Vec<String> {
    linli::app::install_catalogues();
    let mut all: Vec<&str> = keys().collect();
    all.sort_unstable();
    all.into_iter()
        .filter_map(|key| check(key, t(Locale::ZhCn, key), t(Locale::En, key)).map(|why| format!("{key}: {why}")))
        .collect()
}

#[test]
fn every_key_has_both_languages_with_the_same_placeholders() {
    let bad = offenders(|_, zh, en| {
        if zh.trim().is_empty() || en.trim().is_empty() {
            return Some("a language is empty".into());
        }
        let (pz, pe) = (placeholders(zh), placeholders(en));
        (pz != pe).then(|| format!("zh has {pz:?}, en has {pe:?}"))
    });
    assert!(bad.is_empty(), "{} keys:\n{}", bad.len(), bad.join("\n"));
    assert!(keys().count() > 800, "every capability's catalogue was read");
}

#[test]
fn chinese_uses_full_width_punctuation() {
    let bad = offenders(|_, zh, _| {
        let text = prose(zh);
        let mut found: String = text.chars().filter(|c| ASCII_IN_ZH.contains(c)).collect();
        // A sentence ends in 。, not in a full stop after a Chinese character (".xlsx" is a name).
        let chars: Vec<char> = text.chars().collect();
        found.extend(chars.windows(2).filter(|w| is_han(w[0]) && w[1] == '.').map(|_| '.'));
        (!found.is_empty()).then(|| format!("ASCII {found:?} in {zh:?}"))
    });
    assert!(bad.is_empty(), "{} Chinese texts use ASCII punctuation:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn english_uses_ascii_punctuation_and_no_chinese() {
    let bad = offenders(|_, _, en| {
        let found: String = prose(en)
            .chars()
            .filter(|&c| FULL_WIDTH_IN_EN.contains(&c) || is_han(c))
            .collect();
        (!found.is_empty()).then(|| format!("{found:?} in {en:?}"))
    });
    assert!(bad.is_empty(), "{} English texts use Chinese characters or punctuation:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn the_checks_catch_what_they_are_for() {
    // The form the catalogue had before: ASCII in Chinese prose.
    for text in ["您好,李秀英", "忘记密码?", "照片(最多 9 张)", "例如:3栋", "谢谢!", "留空;如不修改"] {
        assert!(prose(text).contains(ASCII_IN_ZH), "{text}");
    }
    assert!(is_han('楼') && !is_han('.') && !is_han('，'));
    // What is not prose passes.
    for text in ["工作时间 8:30–12:00", "共 1,000 户", "点此 {link}", "见 https://example.org/a?b=1,2"] {
        assert!(!prose(text).contains(ASCII_IN_ZH), "{text}: {}", prose(text));
    }
    assert_eq!(placeholders("案件 #{case} 的时限（{clock}）"), BTreeSet::from(["case".to_string(), "clock".to_string()]));
}
