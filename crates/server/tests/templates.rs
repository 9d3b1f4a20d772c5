//! Every page template: text comes from the catalogue, and nothing inline breaks the
//! Content-Security-Policy (`style-src 'self'; script-src 'self'`).

/// Every crate's templates (`crates/<name>/templates`).
fn templates() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out: Vec<(String, String)> = testkit::files_under(&root, "html")
        .into_iter()
        .filter(|path| path.components().any(|c| c.as_os_str() == "templates"))
        .map(|path| (path.display().to_string(), std::fs::read_to_string(&path).unwrap()))
        .collect();
    assert!(out.len() > 10, "templates found: {}", out.len());
    out
}

#[test]
fn every_literal_text_key_is_in_the_catalogue() {
    linli::app::install_catalogues();
    let mut missing = Vec::new();
    for (path, text) in templates() {
        for part in text.split("tr.t(\"").skip(1) {
            let key = part.split('"').next().unwrap();
            if !kernel::i18n::has(key) {
                missing.push(format!("{path}: {key}"));
            }
        }
        for part in text.split("tr.n(\"").skip(1) {
            let key = part.split('"').next().unwrap();
            if !kernel::i18n::has(key) {
                missing.push(format!("{path}: {key}"));
            }
        }
    }
    assert!(missing.is_empty(), "keys missing from the catalogues:\n{}", missing.join("\n"));
}

#[test]
fn no_inline_styles_or_scripts() {
    for (path, text) in templates() {
        assert!(!text.contains("style=\""), "{path} has an inline style attribute");
        assert!(!text.contains("<style"), "{path} has an inline style element");
        for part in text.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap();
            assert!(tag.contains("src="), "{path} has an inline script");
        }
        assert!(!text.contains(" onclick=") && !text.contains(" onsubmit="), "{path} has an inline event handler");
    }
}

/// Chinese written into a template would show in English too: words come from the catalogue.
/// The one exception is a part that says which language it is in (the language switch).
#[test]
fn no_chinese_outside_the_catalogue() {
    let mut found = Vec::new();
    for (path, text) in templates() {
        for (n, line) in text.lines().enumerate() {
            let mut rest = line.to_string();
            // `<x lang="zh-CN">中文</x>` names itself.
            while let Some(start) = rest.find("lang=\"zh-CN\">") {
                let tail = &rest[start + "lang=\"zh-CN\">".len()..];
                let end = tail.find('<').unwrap_or(tail.len());
                rest = format!("{}{}", &rest[..start], &tail[end..]);
            }
            if rest.chars().any(|c| ('\u{3000}'..='\u{303f}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c)) {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "Chinese outside the catalogue:\n{}", found.join("\n"));
}
