//! What the linear models see of a report: tokens (each Han character, each Latin word, each
//! number) and their n-grams of one to three tokens inside a stretch of text between
//! punctuation, plus a few signs of form (a question mark, the length). Each feature keeps the
//! span it came from, so the words that decided an answer can be shown. Shared with the build
//! script, which trains the shipped models.

use crate::text::{is_ideograph, is_wordy};

/// A feature: its hash, and the characters of the normalised text it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// FNV-1a hash of the feature's kind and tokens.
    pub hash: u64,
    /// First normalised character.
    pub start: usize,
    /// One past the last normalised character.
    pub end: usize,
}

/// The longest n-gram, in tokens.
const MAX_N: usize = 3;

struct Token {
    text: String,
    start: usize,
    end: usize,
}

fn fnv(parts: &[&str], kind: u8) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for p in parts {
        for b in p.bytes() {
            eat(b);
        }
        eat(0x1f);
    }
    h
}

/// A light English stem, so `leaking`, `leaks` and `leaked` meet.
fn stem(word: &str) -> String {
    let n = word.len();
    let cut = if n > 5 && word.ends_with("ing") {
        3
    } else if n > 4 && word.ends_with("ed") {
        2
    } else if n > 3 && word.ends_with('s') && !word.ends_with("ss") {
        1
    } else {
        0
    };
    word[..n - cut].to_string()
}

/// Splits normalised characters into stretches (broken by punctuation, emoji, line breaks and
/// runs of spaces) of tokens.
fn stretches(chars: &[char]) -> Vec<Vec<Token>> {
    let mut out: Vec<Vec<Token>> = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_ideograph(c) {
            current.push(Token { text: c.to_string(), start: i, end: i + 1 });
            i += 1;
        } else if c.is_numeric() {
            let start = i;
            while i < chars.len() && chars[i].is_numeric() {
                i += 1;
            }
            current.push(Token { text: "0".into(), start, end: i });
        } else if is_wordy(c) {
            let start = i;
            while i < chars.len() && is_wordy(chars[i]) && !is_ideograph(chars[i]) && !chars[i].is_numeric() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            current.push(Token { text: stem(&word), start, end: i });
        } else if c == ' ' && chars.get(i + 1).is_some_and(|n| is_wordy(*n)) && !current.is_empty() {
            i += 1;
        } else if c == '\'' && !current.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()) {
            // don't, it's: keep the word whole enough to match
            i += 1;
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            i += 1;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The features of a normalised text, each once (the first place it occurs).
pub fn extract(chars: &[char]) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |f: Feature, out: &mut Vec<Feature>| {
        if seen.insert(f.hash) {
            out.push(f);
        }
    };
    for stretch in stretches(chars) {
        for n in 1..=MAX_N {
            for w in stretch.windows(n) {
                let parts: Vec<&str> = w.iter().map(|t| t.text.as_str()).collect();
                push(Feature { hash: fnv(&parts, n as u8), start: w[0].start, end: w[n - 1].end }, &mut out);
            }
        }
    }
    let len = chars.iter().filter(|c| is_wordy(**c)).count();
    let bucket = match len {
        0..=8 => "xs",
        9..=20 => "s",
        21..=50 => "m",
        51..=120 => "l",
        _ => "xl",
    };
    push(Feature { hash: fnv(&[bucket], b'L'), start: 0, end: 0 }, &mut out);
    if chars.iter().any(|c| *c == '?' || *c == '吗') {
        push(Feature { hash: fnv(&["?"], b'Q'), start: 0, end: 0 }, &mut out);
    }
    out
}
