//! Every page template: text comes from the catalogue, and nothing inline breaks the
//! Content-Security-Policy (`style-src 'self'; script-src 'self'`).

fn templates() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(out.len() > 10, "templates found: {}", out.len());
    out
}

#[test]
fn every_literal_text_key_is_in_the_catalogue() {
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
    assert!(missing.is_empty(), "keys missing from locales/catalogue.toml:\n{}", missing.join("\n"));
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
