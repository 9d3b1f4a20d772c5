//! The safety layer: a short list of high-precision life-safety wordings (`data/safety.toml`)
//! that raise a report — never lower it — with one general treatment of the words around them
//! (after NegEx and ConText): a wording that is denied (`没闻到煤气味`), imagined (`万一着火`),
//! in the past (`去年摔倒过`), only talked about (`消防演练`), or over (`孩子找到了`) does not count.

use crate::{Category, Urgency};
use serde::Deserialize;
use std::sync::LazyLock;

#[derive(Debug, Deserialize)]
struct File {
    context: Context,
    trigger: Vec<Trigger>,
}

#[derive(Debug, Deserialize)]
struct Context {
    reach: usize,
    clause_ends: Vec<String>,
    negation_reach: usize,
    negation: Vec<String>,
    #[serde(default)]
    not_negation: Vec<String>,
    hypothetical: Vec<String>,
    past: Vec<String>,
    topic: Vec<String>,
    idea: Vec<String>,
    after_reach: usize,
    after: Vec<String>,
    present: Vec<String>,
    over_reach: usize,
    over: Vec<String>,
}

/// One trigger of `data/safety.toml`.
#[derive(Debug, Deserialize)]
pub struct Trigger {
    /// Its name, shown as the reason's kind.
    pub name: String,
    urgency: String,
    category: Option<String>,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    near: Vec<Vec<String>>,
    #[serde(default = "default_within")]
    within: usize,
    #[serde(default)]
    except: Vec<String>,
}

fn default_within() -> usize {
    10
}

impl Trigger {
    /// The urgency a match raises a report to.
    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Urgent)
    }
    /// The category a match files a report under, if the trigger names one.
    pub fn category(&self) -> Option<Category> {
        self.category.as_deref().and_then(Category::parse)
    }
}

/// The parsed rules, with every phrase normalised as reports are.
#[derive(Debug)]
pub struct Rules {
    context: Context,
    /// The triggers, in file order.
    pub triggers: Vec<Trigger>,
}

fn norm_all(v: &mut [String]) {
    for p in v.iter_mut() {
        *p = crate::text::normalise(p);
    }
}

impl Rules {
    /// Parses rules in the format of `data/safety.toml`.
    pub fn parse(source: &str) -> Result<Rules, String> {
        let mut file: File = toml::from_str(source).map_err(|e| e.to_string())?;
        let c = &mut file.context;
        for list in [&mut c.clause_ends, &mut c.negation, &mut c.not_negation, &mut c.hypothetical, &mut c.past, &mut c.topic, &mut c.idea, &mut c.after, &mut c.present, &mut c.over] {
            norm_all(list);
        }
        for t in &mut file.trigger {
            if Urgency::parse(&t.urgency).is_none() {
                return Err(format!("trigger {}: urgency {}", t.name, t.urgency));
            }
            if let Some(c) = &t.category {
                Category::parse(c).ok_or_else(|| format!("trigger {}: category {c}", t.name))?;
            }
            if t.any.is_empty() && t.near.len() < 2 {
                return Err(format!("trigger {}: needs `any` or at least two `near` groups", t.name));
            }
            norm_all(&mut t.any);
            norm_all(&mut t.except);
            for g in &mut t.near {
                norm_all(g);
            }
        }
        Ok(Rules { context: file.context, triggers: file.trigger })
    }
}

/// The shipped rules.
pub static RULES: LazyLock<Rules> =
    LazyLock::new(|| Rules::parse(include_str!("../data/safety.toml")).expect("data/safety.toml is valid (tests/safety.rs)"));

/// A trigger that matched and counts.
#[derive(Debug, Clone)]
pub struct Hit<'r> {
    /// The trigger.
    pub trigger: &'r Trigger,
    /// Normalised characters it covers.
    pub start: usize,
    /// One past the last.
    pub end: usize,
}

/// A report's normalised text, searchable by phrase with character positions.
struct Text<'a> {
    s: &'a str,
    /// Byte offset of each character, and the length at the end.
    offsets: Vec<usize>,
    /// For each character, how many units (a Han character, a word, a number) start before it,
    /// so that "near" means the same in Chinese and in English.
    units: Vec<usize>,
}

impl<'a> Text<'a> {
    fn new(s: &'a str) -> Self {
        let mut offsets: Vec<usize> = s.char_indices().map(|(b, _)| b).collect();
        offsets.push(s.len());
        let mut units = Vec::with_capacity(offsets.len());
        let (mut n, mut in_word) = (0usize, false);
        for c in s.chars() {
            units.push(n);
            if crate::text::is_ideograph(c) {
                n += 1;
                in_word = false;
            } else if c.is_alphanumeric() {
                if !in_word {
                    n += 1;
                }
                in_word = true;
            } else {
                in_word = false;
            }
        }
        units.push(n);
        Text { s, offsets, units }
    }
    /// The first character position at most `n` units before `pos`.
    fn back(&self, pos: usize, n: usize) -> usize {
        let pos = pos.min(self.len());
        let target = self.units[pos].saturating_sub(n);
        self.units[..=pos].partition_point(|u| *u < target)
    }
    /// The last character position at most `n` units after `pos`.
    fn ahead(&self, pos: usize, n: usize) -> usize {
        let pos = pos.min(self.len());
        let target = self.units[pos] + n;
        pos + self.units[pos..].partition_point(|u| *u <= target).saturating_sub(1)
    }
    /// Distance in units between two character positions.
    fn apart(&self, a: usize, b: usize) -> usize {
        let at = |i: usize| self.units[i.min(self.units.len() - 1)];
        at(a).abs_diff(at(b))
    }
    fn char_at(&self, byte: usize) -> usize {
        self.offsets.partition_point(|b| *b < byte)
    }
    /// Every occurrence of a phrase, as character ranges.
    fn find(&self, phrase: &str) -> Vec<(usize, usize)> {
        if phrase.is_empty() {
            return Vec::new();
        }
        self.s
            .match_indices(phrase)
            .map(|(b, m)| (self.char_at(b), self.char_at(b + m.len())))
            .collect()
    }
    fn slice(&self, start: usize, end: usize) -> &str {
        let end = end.min(self.offsets.len() - 1);
        let start = start.min(end);
        &self.s[self.offsets[start]..self.offsets[end]]
    }
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// Every occurrence of any of `words` inside `start..end`, as character ranges.
fn all_in(text: &Text<'_>, words: &[String], start: usize, end: usize) -> Vec<(usize, usize)> {
    let part = text.slice(start, end);
    let mut out = Vec::new();
    for w in words.iter().filter(|w| !w.is_empty()) {
        for (b, _) in part.match_indices(w.as_str()) {
            let s = start + part[..b].chars().count();
            out.push((s, s + w.chars().count()));
        }
    }
    out
}

fn occurs(text: &Text<'_>, words: &[String], start: usize, end: usize) -> Option<usize> {
    let part = text.slice(start, end);
    words.iter().filter_map(|w| part.rfind(w.as_str()).map(|b| start + part[..b + w.len()].chars().count())).max()
}

impl Rules {
    /// Where the clause holding `at` begins.
    fn clause_start(&self, text: &Text<'_>, at: usize) -> usize {
        let before = text.slice(0, at);
        self.context
            .clause_ends
            .iter()
            .filter_map(|e| before.rfind(e.as_str()).map(|b| before[..b + e.len()].chars().count()))
            .max()
            .unwrap_or(0)
    }

    /// Whether the words before a match at `start` take it away: a denial right before it, or an
    /// imagined, past, talked-about, proposed or thanked-for clause with no word of the present after the context word.
    /// (A denial that is itself part of the trigger's match, as `没接` in `两天没接电话`, does
    /// not deny it.)
    fn context_cancels(&self, text: &Text<'_>, start: usize, parts: &[(usize, usize)]) -> bool {
        let clause = self.clause_start(text, start);
        let near = clause.max(text.back(start, self.context.negation_reach));
        let inside = |n: &(usize, usize)| parts.iter().any(|p| n.0 < p.1 && n.1 > p.0);
        let denies = |n: &(usize, usize)| !inside(n) && !self.holds_no_denial(text, *n);
        if all_in(text, &self.context.negation, near, start).iter().any(denies) {
            return true;
        }
        let from = clause.max(text.back(start, self.context.reach));
        for words in [&self.context.hypothetical, &self.context.past, &self.context.topic, &self.context.idea] {
            if let Some(end) = occurs(text, words, from, start) {
                if occurs(text, &self.context.present, end, start).is_none() {
                    return true;
                }
            }
        }
        false
    }

    /// Whether a denial word found at `n` is part of a wording that does not deny (`水已没过`).
    fn holds_no_denial(&self, text: &Text<'_>, n: (usize, usize)) -> bool {
        self.context.not_negation.iter().any(|w| text.find(w).into_iter().any(|(s, e)| s <= n.0 && e >= n.1))
    }

    /// Whether the words right after a match make it an event referred to.
    fn is_referred_to(&self, text: &Text<'_>, end: usize) -> bool {
        occurs(text, &self.context.after, end, text.ahead(end, self.context.after_reach)).is_some()
    }

    /// Whether the sentence holding a match names it as the topic of a drill, a talk or a show.
    fn is_topic(&self, text: &Text<'_>, start: usize, end: usize) -> bool {
        let after = text.slice(end, text.len());
        let stop = self
            .context
            .clause_ends
            .iter()
            .filter(|e| matches!(e.as_str(), "。" | "." | "!" | "！" | "?" | "？" | "\n"))
            .filter_map(|e| after.find(e.as_str()).map(|b| after[..b].chars().count()))
            .min()
            .unwrap_or(after.chars().count());
        occurs(text, &self.context.topic, start, end + stop).is_some()
    }

    /// (A word of it being over that is itself denied, as in `不像开玩笑`, does not count.)
    fn is_over(&self, text: &Text<'_>, start: usize, end: usize) -> bool {
        let from = text.back(start, self.context.over_reach);
        let to = text.ahead(end, self.context.over_reach);
        all_in(text, &self.context.over, from, to)
            .into_iter()
            .any(|(s, _)| all_in(text, &self.context.negation, text.back(s, 2), s).is_empty() && !text.slice(text.back(s, 2), s).contains("不像"))
    }

    fn excepted(&self, text: &Text<'_>, t: &Trigger, start: usize, end: usize) -> bool {
        let from = text.back(start, 4);
        let to = text.ahead(end, 4);
        t.except.iter().any(|e| text.find(e).into_iter().any(|(s, f)| s < to && f > from))
    }

    /// The triggers that match a normalised report and count, most urgent first.
    pub fn hits(&self, normalised: &str) -> Vec<Hit<'_>> {
        let text = Text::new(normalised);
        let mut hits = Vec::new();
        for t in &self.triggers {
            if let Some((start, end)) = self.first_counting(&text, t) {
                hits.push(Hit { trigger: t, start, end });
            }
        }
        hits.sort_by_key(|h| std::cmp::Reverse(h.trigger.urgency()));
        hits
    }

    fn counts(&self, text: &Text<'_>, t: &Trigger, parts: &[(usize, usize)]) -> bool {
        let start = parts.iter().map(|p| p.0).min().unwrap_or(0);
        let end = parts.iter().map(|p| p.1).max().unwrap_or(0);
        !self.excepted(text, t, start, end)
            && !parts.iter().any(|p| self.context_cancels(text, p.0, parts))
            && !self.is_over(text, start, end)
            && !self.is_topic(text, start, end)
            && !self.is_referred_to(text, end)
    }

    fn first_counting(&self, text: &Text<'_>, t: &Trigger) -> Option<(usize, usize)> {
        for phrase in &t.any {
            for m in text.find(phrase) {
                if self.counts(text, t, &[m]) {
                    return Some(m);
                }
            }
        }
        if t.near.len() < 2 {
            return None;
        }
        let groups: Vec<Vec<(usize, usize)>> =
            t.near.iter().map(|g| g.iter().flat_map(|p| text.find(p)).collect()).collect();
        if groups.iter().any(Vec::is_empty) {
            return None;
        }
        // Anchor on each occurrence of the first group; take the nearest of each other group.
        for anchor in &groups[0] {
            let mut parts = vec![*anchor];
            for g in &groups[1..] {
                let best = g
                    .iter()
                    .filter(|m| text.apart(m.0, anchor.0) <= t.within && (m.1 <= anchor.0 || m.0 >= anchor.1))
                    .min_by_key(|m| text.apart(m.0, anchor.0));
                match best {
                    Some(m) => parts.push(*m),
                    None => break,
                }
            }
            if parts.len() == t.near.len() && self.counts(text, t, &parts) {
                let start = parts.iter().map(|p| p.0).min().unwrap_or(0);
                let end = parts.iter().map(|p| p.1).max().unwrap_or(0);
                return Some((start, end));
            }
        }
        None
    }
}
