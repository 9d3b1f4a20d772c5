//! Multinomial naive Bayes over character bigrams (Chinese) and words (English), trained from
//! the labelled examples when first used: one model for category, one (bigrams only) for
//! urgency.

use crate::Example;
use std::collections::HashMap;

/// The features of a normalised text: Chinese character bigrams, single characters if
/// `unigrams`, and English words.
pub fn features_with(norm: &str, unigrams: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev: Option<char> = None;
    for c in norm.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
            prev = None;
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if is_cjk(c) {
            if unigrams {
                out.push(c.to_string());
            }
            if let Some(p) = prev {
                out.push(format!("{p}{c}"));
            }
            prev = Some(c);
        } else {
            prev = None;
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

pub fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Counts per class.
pub struct Model {
    counts: Vec<HashMap<String, f64>>,
    totals: Vec<f64>,
    priors: Vec<f64>,
    vocabulary: f64,
    unigrams: bool,
}

impl Model {
    /// Trains on examples for `n` classes, `label` giving each example's class; `unigrams`
    /// adds single Chinese characters to the bigrams.
    pub fn train<'a>(examples: impl Iterator<Item = &'a Example>, n: usize, unigrams: bool, label: impl Fn(&Example) -> usize) -> Self {
        Self::train_on(examples, n, unigrams, label, |t| t.to_string())
    }

    /// Like [`Model::train`], with each normalised text first passed through `prepare` (the
    /// danger model sees texts with their harmless look-alikes removed, as it scores them).
    pub fn train_on<'a>(examples: impl Iterator<Item = &'a Example>, n: usize, unigrams: bool, label: impl Fn(&Example) -> usize, prepare: impl Fn(&str) -> String) -> Self {
        let mut counts = vec![HashMap::new(); n];
        let mut totals = vec![0f64; n];
        let mut docs = vec![0f64; n];
        let mut vocab = std::collections::HashSet::new();
        for e in examples {
            let i = label(e);
            docs[i] += 1.0;
            for f in features_with(&prepare(&crate::normalise(e.text)), unigrams) {
                *counts[i].entry(f.clone()).or_insert(0.0) += 1.0;
                totals[i] += 1.0;
                vocab.insert(f);
            }
        }
        let all: f64 = docs.iter().sum::<f64>().max(1.0);
        let priors = docs.iter().map(|d| ((d + 1.0) / (all + n as f64)).ln()).collect();
        Model { counts, totals, priors, vocabulary: vocab.len().max(1) as f64, unigrams }
    }

    fn log_likelihood(&self, class: usize, feature: &str) -> f64 {
        let c = self.counts[class].get(feature).copied().unwrap_or(0.0);
        ((c + 1.0) / (self.totals[class] + self.vocabulary)).ln()
    }

    /// The probability of each class.
    pub fn posterior(&self, norm: &str) -> Vec<f64> {
        let feats = features_with(norm, self.unigrams);
        let logs: Vec<f64> = (0..self.priors.len())
            .map(|k| self.priors[k] + feats.iter().map(|f| self.log_likelihood(k, f)).sum::<f64>())
            .collect();
        let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    }

    /// The features of `norm` that most favour `class` over the others (bigrams and words only).
    pub fn evidence(&self, norm: &str, class: usize) -> Vec<String> {
        let mut scored: Vec<(String, f64)> = features_with(norm, self.unigrams)
            .into_iter()
            .filter(|f| f.chars().count() > 1)
            .filter(|f| self.counts[class].contains_key(f))
            .map(|f| {
                let own = self.log_likelihood(class, &f);
                let others = (0..self.priors.len()).filter(|k| *k != class).map(|k| self.log_likelihood(k, &f)).fold(f64::NEG_INFINITY, f64::max);
                let margin = own - others;
                (f, margin)
            })
            .filter(|(_, m)| *m > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.dedup_by(|a, b| a.0 == b.0);
        scored.into_iter().map(|(f, _)| f).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn features_mix_chinese_bigrams_and_english_words() {
        let f = super::features_with("楼道灯坏了 light broken", true);
        assert!(f.contains(&"楼道".to_string()) && f.contains(&"灯坏".to_string()));
        assert!(f.contains(&"light".to_string()) && f.contains(&"broken".to_string()));
    }
}
