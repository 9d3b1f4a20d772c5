//! The two learned models (urgency and category) and how they are trained from labelled
//! reports. Shared with the build script, which trains the shipped pair.

use crate::corpus::{CATEGORIES, URGENCIES};
use crate::{features, text};
use crate::linear::{Linear, Options, Sample};

/// A pair of models.
#[derive(Debug, Clone)]
pub struct Models {
    /// Over [`URGENCIES`].
    pub urgency: Linear,
    /// Over [`CATEGORIES`].
    pub category: Linear,
}

/// A report to learn from, by class index, with how much it counts.
pub struct Example<'a> {
    /// The report.
    pub text: &'a str,
    /// Index into [`URGENCIES`].
    pub urgency: usize,
    /// Index into [`CATEGORIES`].
    pub category: usize,
    /// 1 for shipped examples; more for a community's own corrections.
    pub weight: f32,
}

/// The feature hashes of a text.
pub fn hashes(text: &str) -> Vec<u64> {
    let (chars, _) = text::normalised(text);
    features::extract(&chars).into_iter().map(|f| f.hash).collect()
}

/// Training settings, chosen by leaving one kind of writer out at a time (docs/triage.md).
/// Weighting critical and urgent reports more (1.5 and 2.5) raised three times as many ordinary
/// reports to critical and caught no more: the safety layer does that job.
pub fn options(classes: usize) -> Options {
    Options { epochs: 12, rate: 0.3, l2: 1e-4, min_count: 2, class_weights: vec![1.0; classes] }
}

impl Models {
    /// Trains both models.
    pub fn train(examples: &[Example<'_>]) -> Models {
        let rows: Vec<Vec<u64>> = examples.iter().map(|e| hashes(e.text)).collect();
        let samples = |urgency: bool| -> Vec<Sample<'_>> {
            examples
                .iter()
                .zip(&rows)
                .map(|(e, r)| Sample { features: r, class: if urgency { e.urgency } else { e.category }, weight: e.weight })
                .collect()
        };
        Models {
            urgency: Linear::train(&samples(true), URGENCIES.len(), &options(URGENCIES.len())),
            category: Linear::train(&samples(false), CATEGORIES.len(), &options(CATEGORIES.len())),
        }
    }

    /// Both models in one byte string: the urgency model's length, then each stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let u = self.urgency.to_bytes();
        let c = self.category.to_bytes();
        let mut out = Vec::with_capacity(8 + u.len() + c.len());
        out.extend_from_slice(&(u.len() as u64).to_le_bytes());
        out.extend_from_slice(&u);
        out.extend_from_slice(&c);
        out
    }

    /// Reads [`Models::to_bytes`]; `None` when the bytes are not a pair of models.
    pub fn from_bytes(bytes: &[u8]) -> Option<Models> {
        let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
        let urgency = Linear::from_bytes(bytes.get(8..8usize.checked_add(len)?)?)?;
        let category = Linear::from_bytes(bytes.get(8 + len..)?)?;
        (urgency.classes() == URGENCIES.len() && category.classes() == CATEGORIES.len()).then_some(Models { urgency, category })
    }
}
