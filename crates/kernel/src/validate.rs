//! Checks for free text typed by people, shared by every capability. Every text a person or an
//! integration submits goes through one of these, so no capability stores a control character
//! that would break a page, a CSV line or an XML feed.

use crate::error::FieldError;

/// A required single-line text: trimmed, not empty, at most `max` characters, no control
/// characters (a line break or tab inside is refused too).
pub fn required<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    checked(field, value, max, true, Lines::One)
}

/// An optional single-line text: trimmed, at most `max` characters, no control characters.
pub fn at_most<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    checked(field, value, max, false, Lines::One)
}

/// A required text that may run over several lines (a report, a note): as [`required`], but
/// line breaks and tabs are kept.
pub fn required_multiline<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    checked(field, value, max, true, Lines::Many)
}

/// An optional text that may run over several lines: as [`at_most`], but line breaks and tabs
/// are kept.
pub fn at_most_multiline<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    checked(field, value, max, false, Lines::Many)
}

/// A person's name: as [`required`], and without invisible format characters (zero-width
/// space, joiner or non-joiner, word joiner, soft hyphen, byte-order mark, bidi controls) that
/// make two names look alike or turn a line around. Emoji and combining marks are kept.
pub fn person_name<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    let v = required(field, value, max)?;
    if v.chars().any(invisible_format) {
        return Err(FieldError::new(field, "invisible_character"));
    }
    Ok(v)
}

/// Text without bidi embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069),
/// which can make what staff read run in another order than what was typed. Everything else is
/// kept as it was.
pub fn without_bidi_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(bidi_control) {
        text.chars().filter(|c| !bidi_control(*c)).collect::<String>().into()
    } else {
        text.into()
    }
}

/// Whether `c` embeds, overrides or isolates a run of text's direction.
pub fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` is an invisible format character no name may hold.
fn invisible_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Whether `c` may not be stored in text: C0 controls, DEL and C1 controls (line breaks and
/// tabs only in multi-line text), and U+FFFE/U+FFFF, which XML 1.0 cannot carry either.
fn forbidden(c: char, lines: Lines) -> bool {
    if lines == Lines::Many && matches!(c, '\n' | '\r' | '\t') {
        return false;
    }
    c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Whether `text` holds a character no text field accepts, even a multi-line one.
pub fn has_control_character(text: &str) -> bool {
    text.chars().any(|c| forbidden(c, Lines::Many))
}

fn checked<'a>(field: &str, value: &'a str, max: usize, required: bool, lines: Lines) -> Result<&'a str, FieldError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    if let Some(c) = v.chars().find(|c| forbidden(*c, lines)) {
        // A line break in a one-line field is a common paste slip, and says so.
        let code = if matches!(c, '\n' | '\r' | '\t') { "single_line" } else { "control_character" };
        return Err(FieldError::new(field, code));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, "too_long").arg("max", max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(required("name", " 翠微新村 ", 4).unwrap(), "翠微新村");
        assert_eq!(required("name", "翠微新村三", 4).unwrap_err().code, "too_long");
        assert_eq!(required("name", "  ", 4).unwrap_err().code, "required");
        assert_eq!(at_most("notes", "", 4).unwrap(), "");
    }

    #[test]
    fn control_characters_are_refused_and_line_breaks_only_where_text_has_lines() {
        assert_eq!(required("name", "3\u{1}栋", 40).unwrap_err().code, "control_character");
        assert_eq!(at_most("name", "a\u{7f}", 40).unwrap_err().code, "control_character");
        assert_eq!(at_most("name", "a\u{85}b", 40).unwrap_err().code, "control_character");
        assert_eq!(at_most("name", "a\u{FFFE}", 40).unwrap_err().code, "control_character");
        assert_eq!(required("name", "3栋\n2单元", 40).unwrap_err().code, "single_line");
        assert_eq!(required("name", "a\tb", 40).unwrap_err().code, "single_line");
        assert_eq!(required_multiline("text", "楼道灯坏了\r\n\t三楼", 40).unwrap(), "楼道灯坏了\r\n\t三楼");
        assert_eq!(at_most_multiline("note", "x\u{0}y", 40).unwrap_err().code, "control_character");
        // Surrounding white space, line breaks included, is trimmed rather than refused.
        assert_eq!(required("name", "\n翠微新村\t", 40).unwrap(), "翠微新村");
    }

    #[test]
    fn names_refuse_invisible_format_characters_but_keep_emoji() {
        assert_eq!(person_name("name", "萧美华\u{200b}😀", 40).unwrap_err().code, "invisible_character");
        assert_eq!(person_name("name", "萧\u{202e}美华", 40).unwrap_err().code, "invisible_character");
        assert_eq!(person_name("name", "萧\u{2066}美华", 40).unwrap_err().code, "invisible_character");
        assert_eq!(person_name("name", "\u{feff}萧美华", 40).unwrap_err().code, "invisible_character");
        assert_eq!(person_name("name", " 萧美华😀 ", 40).unwrap(), "萧美华😀");
        assert_eq!(person_name("name", "Zoe\u{301}", 40).unwrap(), "Zoe\u{301}");
    }

    proptest! {
        #[test]
        fn bidi_controls_are_removed_and_every_other_character_survives(text in proptest::collection::vec(
            prop_oneof![any::<char>(), proptest::sample::select(vec!['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200F}', '楼'])],
            0..80,
        ).prop_map(|v| v.into_iter().collect::<String>())) {
            let cleaned = without_bidi_controls(&text);
            prop_assert!(!cleaned.chars().any(bidi_control));
            let kept: String = text.chars().filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')).collect();
            prop_assert_eq!(cleaned.as_ref(), kept.as_str());
        }

        #[test]
        fn any_name_is_accepted_visible_or_refused_with_a_field_error(s in any::<String>(), extra in prop::sample::select(vec!["", "\u{200b}", "\u{200d}", "\u{202e}", "\u{2069}", "\u{feff}", "😀", "（张）", "e\u{301}"]), max in 0usize..64) {
            let s = format!("{s}{extra}x");
            match person_name("f", &s, max) {
                Ok(v) => {
                    prop_assert!(!v.chars().any(invisible_format), "accepted {v:?}");
                    prop_assert!(!has_control_character(v));
                    prop_assert!(v.chars().count() <= max);
                }
                Err(e) => {
                    prop_assert_eq!(e.field.as_str(), "f");
                    prop_assert!(["required", "too_long", "control_character", "single_line", "invisible_character"].contains(&e.code));
                }
            }
        }

        #[test]
        fn any_text_is_accepted_clean_or_refused_with_a_field_error(s in any::<String>(), max in 0usize..64) {
            for (lines, outcome) in [
                (Lines::One, required("f", &s, max)),
                (Lines::One, at_most("f", &s, max)),
                (Lines::Many, required_multiline("f", &s, max)),
                (Lines::Many, at_most_multiline("f", &s, max)),
            ] {
                match outcome {
                    Ok(v) => {
                        prop_assert!(!v.chars().any(|c| forbidden(c, lines)), "accepted {v:?}");
                        prop_assert!(!has_control_character(v));
                        prop_assert!(v.chars().count() <= max);
                        prop_assert_eq!(v, v.trim());
                    }
                    Err(e) => {
                        prop_assert_eq!(e.field.as_str(), "f");
                        prop_assert!(["required", "too_long", "control_character", "single_line"].contains(&e.code));
                    }
                }
            }
        }

        #[test]
        fn text_with_a_control_character_inside_is_never_accepted(a in "[a-z翠微]{1,8}", c in prop::sample::select(vec!['\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{80}', '\u{9f}']), b in "[a-z翠微]{1,8}") {
            let s = format!("{a}{c}{b}");
            prop_assert_eq!(required("f", &s, 100).unwrap_err().code, "control_character");
            prop_assert_eq!(at_most_multiline("f", &s, 100).unwrap_err().code, "control_character");
        }
    }
}
