//! Every error code the code can answer with has words in both languages: a field error whose
//! code has no `error.<code>` entry would show the raw key to a resident.

use std::path::Path;

/// The string literal codes passed to `AppError::field(…)` and `FieldError::new(…)`.
fn codes_in(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for call in ["AppError::field(", "FieldError::new("] {
        for (at, _) in source.match_indices(call) {
            // The call's arguments, to its closing parenthesis.
            let rest = &source[at + call.len()..];
            let mut depth = 1;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &rest[..end];
            // The code is the last literal argument.
            let Some(last) = args.rsplit(',').next() else { continue };
            let last = last.trim();
            if last.len() > 2 && last.starts_with('"') && last.ends_with('"') {
                out.push(last.trim_matches('"').to_string());
            }
        }
    }
    out
}

#[test]
fn every_error_code_has_words() {
    linli::app::install_catalogues();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let files = testkit::files_under(crates, "rs");
    let mut missing = Vec::new();
    let mut seen = 0;
    for file in files.iter().filter(|f| f.components().any(|c| c.as_os_str() == "src")) {
        let source = std::fs::read_to_string(file).unwrap();
        for code in codes_in(&source) {
            seen += 1;
            let key = format!("error.{code}");
            for locale in [kernel::i18n::Locale::ZhCn, kernel::i18n::Locale::En] {
                if kernel::i18n::t(locale, &key) == key {
                    missing.push(format!("{key} ({})", file.display()));
                }
            }
        }
    }
    assert!(seen > 50, "only {seen} codes found: is the scan still reading the calls?");
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "error codes without words:\n{}", missing.join("\n"));
}

#[test]
fn the_scan_reads_the_code_of_a_call() {
    assert_eq!(codes_in(r#"AppError::field(format!("x[{i}]"), "not_found_ref")"#), vec!["not_found_ref"]);
    assert_eq!(codes_in(r#"FieldError::new("phone", "phone_invalid")"#), vec!["phone_invalid"]);
}
