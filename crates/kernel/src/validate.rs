//! Checks for free text typed by people, shared by every capability.

use crate::error::FieldError;

/// A required single-line text: trimmed, not empty, at most `max` characters.
pub fn required<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    at_most(field, v, max)
}

/// An optional text: trimmed, at most `max` characters.
pub fn at_most<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, FieldError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(FieldError::new(field, "too_long").arg("max", max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(super::required("name", " 翠微新村 ", 4).unwrap(), "翠微新村");
        assert_eq!(super::required("name", "翠微新村三", 4).unwrap_err().code, "too_long");
        assert_eq!(super::required("name", "  ", 4).unwrap_err().code, "required");
        assert_eq!(super::at_most("notes", "", 4).unwrap(), "");
    }
}
