//! The text as the classifier reads it: full-width letters, digits and punctuation made
//! half-width, lowercase, traditional characters made simplified, so that the same words match
//! however a phone keyboard or an old setting typed them. Shared with the build script.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Traditional → simplified, one character each (`data/traditional.tsv`, from OpenCC).
static TRADITIONAL: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    include_str!("../data/traditional.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cs = l.split('\t');
            let t = cs.next()?.chars().next()?;
            let s = cs.next()?.chars().next()?;
            Some((t, s))
        })
        .collect()
});

/// Lowercases, makes full-width ASCII half-width and traditional characters simplified.
pub fn normalise(text: &str) -> String {
    normalised(text).0.into_iter().collect()
}

/// The normalised characters, and for each the index of the character of `text` it came from
/// (lowercasing can turn one character into two), so a span of the normalised text can be
/// shown in the writer's own characters.
pub fn normalised(text: &str) -> (Vec<char>, Vec<usize>) {
    let table = &*TRADITIONAL;
    let mut chars = Vec::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => table.get(&c).copied().unwrap_or(c),
        };
        for l in c.to_lowercase() {
            chars.push(l);
            origin.push(i);
        }
    }
    (chars, origin)
}

/// Whether a character carries words (Han, kana, Hangul, letters and digits of any script);
/// everything else (punctuation, spaces, emoji, marks, controls) separates runs.
pub fn is_wordy(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether a character is a Han ideograph (or another character written without spaces).
pub fn is_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F | 0xAC00..=0xD7AF)
}
