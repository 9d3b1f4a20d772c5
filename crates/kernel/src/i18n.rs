//! The one translation catalogue (`locales/catalogue.toml`): zh-CN first, English second.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

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
struct Entry {
    zh: String,
    en: String,
}

const SOURCE: &str = include_str!("../../../locales/catalogue.toml");

static CATALOGUE: LazyLock<HashMap<String, Entry>> =
    LazyLock::new(|| toml::from_str(SOURCE).expect("locales/catalogue.toml is valid"));

/// Every key in the catalogue.
pub fn keys() -> impl Iterator<Item = &'static str> {
    CATALOGUE.keys().map(String::as_str)
}

/// Whether the catalogue has `key`.
pub fn has(key: &str) -> bool {
    CATALOGUE.contains_key(key)
}

/// The text for `key`; an unknown key is returned as-is so a gap is visible, never a crash.
pub fn t<'a>(locale: Locale, key: &'a str) -> &'a str {
    match CATALOGUE.get(key) {
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
        for (key, e) in CATALOGUE.iter() {
            assert!(!e.zh.trim().is_empty(), "{key} lacks zh");
            assert!(!e.en.trim().is_empty(), "{key} lacks en");
        }
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
