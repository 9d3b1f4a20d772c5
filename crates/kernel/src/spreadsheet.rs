//! Cells of the spreadsheets we export. A text cell that starts like a formula (`=`, `+`, `-`,
//! `@`, or a tab or carriage return before one) would be run by Excel or WPS when the file is
//! opened (`=HYPERLINK(…)`, DDE), so every export writes such text behind an apostrophe, and
//! every import of our own files takes the apostrophe off again.

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The text as an export writes it: an apostrophe before text that starts like a formula.
pub fn formula_safe(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_START) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The text as it was before [`formula_safe`]: the apostrophe it added is removed.
pub fn strip_formula_guard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_restored() {
        for text in ["=HYPERLINK(\"http://x\",\"点我\")", "+86", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            let safe = formula_safe(text);
            assert_eq!(safe, format!("'{text}"));
            assert_eq!(strip_formula_guard(&safe), text);
        }
        for text in ["张建国", "'单引号开头", "", "1=1"] {
            assert_eq!(formula_safe(text), text);
            assert_eq!(strip_formula_guard(text), text);
        }
    }
}
