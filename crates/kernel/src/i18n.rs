//! The translation catalogue: zh-CN first, English second. The kernel's words
//! (`crates/kernel/catalogue.toml`) and each capability's (`crates/<name>/catalogue.toml`, named
//! in its manifest) are merged into one at start.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
pub enum Locale {
    /// Simplified Chinese, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }
    /// Parses a stored or submitted tag; anything unknown is `None`.
    pub fn parse(tag: &str) -> Option<Self> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh-hans" => Some(Locale::ZhCn),
            "en" | "en-us" | "en-gb" => Some(Locale::En),
            _ => None,
        }
    }
    /// Picks the first supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|tag| {
                let tag = tag.trim();
                Locale::parse(tag).or_else(|| {
                    let primary = tag.split('-').next().unwrap_or("");
                    Locale::parse(primary)
                })
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: String,
}

type Catalogue = HashMap<String, Entry>;

/// The kernel's own words: the layout, the navigation, the errors and fields every capability
/// shares. Each capability adds its own catalogue through its manifest ([`install`]).
pub const KERNEL_CATALOGUE: &str = include_str!("../catalogue.toml");

fn parse(name: &str, source: &str) -> Result<Catalogue, String> {
    let catalogue: Catalogue = toml::from_str(source).map_err(|e| format!("{name}'s catalogue: {e}"))?;
    for (key, e) in &catalogue {
        if e.zh.trim().is_empty() || e.en.trim().is_empty() {
            return Err(format!("{name}'s catalogue: {key} lacks a language"));
        }
    }
    Ok(catalogue)
}

static KERNEL: LazyLock<&'static Catalogue> =
    LazyLock::new(|| Box::leak(Box::new(parse("kernel", KERNEL_CATALOGUE).expect("the kernel's catalogue is valid"))));

/// The catalogues in use, by the names of those that make them up (the kernel's alone until
/// [`install`]). A merged catalogue lives as long as the process: there is one per set of
/// capabilities, and a process composes one set (a test process, a few).
static INSTALLED: RwLock<Option<(Vec<String>, &'static Catalogue)>> = RwLock::new(None);

fn catalogue() -> &'static Catalogue {
    match *INSTALLED.read().unwrap_or_else(|e| e.into_inner()) {
        Some((_, c)) => c,
        None => *KERNEL,
    }
}

/// Merges the kernel's catalogue with `parts` (a capability's name and its catalogue's TOML
/// source) and uses the result from now on. A key defined twice, an entry without both
/// languages or a file that is not a catalogue is refused with the capability's name.
pub fn install(parts: &[(&str, &str)]) -> Result<(), String> {
    let names: Vec<String> = parts.iter().map(|(n, _)| n.to_string()).collect();
    let mut installed = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
    if installed.as_ref().is_some_and(|(n, _)| *n == names) {
        return Ok(());
    }
    let mut merged = parse("kernel", KERNEL_CATALOGUE)?;
    let mut owner: HashMap<String, &str> = merged.keys().map(|k| (k.clone(), "kernel")).collect();
    for (name, source) in parts {
        for (key, entry) in parse(name, source)? {
            if let Some(first) = owner.get(&key) {
                return Err(format!("{key} is in both {first}'s and {name}'s catalogue"));
            }
            owner.insert(key.clone(), name);
            merged.insert(key, entry);
        }
    }
    *installed = Some((names, Box::leak(Box::new(merged))));
    Ok(())
}

/// Every key in the catalogue.
pub fn keys() -> impl Iterator<Item = &'static str> {
    catalogue().keys().map(String::as_str)
}

/// Whether the catalogue has `key`.
pub fn has(key: &str) -> bool {
    catalogue().contains_key(key)
}

/// The text for `key`; an unknown key is returned as-is so a gap is visible, never a crash.
pub fn t<'a>(locale: Locale, key: &'a str) -> &'a str {
    match catalogue().get(key) {
        Some(e) => match locale {
            Locale::ZhCn => &e.zh,
            Locale::En => &e.en,
        },
        None => {
            tracing::warn!(key, "missing translation");
            key
        }
    }
}

/// The text for `key` with `{name}` placeholders filled from `args`.
pub fn tf(locale: Locale, key: &str, args: &[(&str, String)]) -> String {
    let mut out = t(locale, key).to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// A translator bound to one locale, handed to templates.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Locale);

impl Tr {
    /// Translates `key`.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        t(self.0, key)
    }
    /// Translates `key` filling `{n}` with a number.
    pub fn n(&self, key: &str, n: impl std::fmt::Display) -> String {
        tf(self.0, key, &[("n", n.to_string())])
    }
    /// Translates `key` filling one placeholder `{name}` with `value`.
    pub fn arg(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        tf(self.0, key, &[(name, value.to_string())])
    }
    /// Items as a list in running text: `甲、乙、丙` in Chinese, `a, b, c` in English.
    pub fn list<S: AsRef<str>>(&self, items: &[S]) -> String {
        items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(self.t("list.separator"))
    }
    /// The locale tag, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.0.tag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_both_languages() {
        for (key, e) in KERNEL.iter() {
            assert!(!e.zh.trim().is_empty(), "{key} lacks zh");
            assert!(!e.en.trim().is_empty(), "{key} lacks en");
        }
    }

    #[test]
    fn a_key_in_two_catalogues_is_refused() {
        let err = install(&[("example", "\"nav.home\" = { zh = \"家\", en = \"Home\" }")]).unwrap_err();
        assert!(err.contains("nav.home") && err.contains("example"), "{err}");
        let err = install(&[("example", "\"example.x\" = { zh = \"甲\" }")]).unwrap_err();
        assert!(err.contains("example's catalogue"), "{err}");
    }

    #[test]
    fn accept_language_prefers_first_supported() {
        assert_eq!(Locale::from_accept_language("fr-FR, en;q=0.8, zh;q=0.5"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("zh-CN,zh;q=0.9"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("de"), None);
    }

    #[test]
    fn placeholders_are_filled() {
        assert!(tf(Locale::En, "error.too_long", &[("max", "20".into())]).contains("20"));
    }
}
