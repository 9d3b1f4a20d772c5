//! A multinomial logistic regression over sparse binary features: trained with AdaGrad and an
//! L2 penalty, deterministic for the same data, stored as a flat little-endian byte format.
//! Shared with the build script, which trains the shipped models at build time.

use std::collections::HashMap;

/// A trained model: for every known feature, one weight per class.
#[derive(Debug, Clone)]
pub struct Linear {
    classes: usize,
    index: HashMap<u64, u32>,
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Read from the stored form, whose feature hashes keep 32 bits.
    stored: bool,
}

/// How to train.
#[derive(Debug, Clone)]
pub struct Options {
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad's base rate.
    pub rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    /// A feature must occur in at least this many examples to be learned.
    pub min_count: usize,
    /// Extra weight per class (e.g. critical reports count more).
    pub class_weights: Vec<f32>,
}

/// One training example: its feature hashes, its class and its weight.
pub struct Sample<'a> {
    /// Feature hashes (each once).
    pub features: &'a [u64],
    /// The labelled class.
    pub class: usize,
    /// How much it counts (staff corrections count more than shipped examples).
    pub weight: f32,
}

const MAGIC: &[u8; 4] = b"LTM2";

/// A fixed-seed shuffle, so that training is reproducible.
fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

fn softmax(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

impl Linear {
    /// Trains a model with `classes` classes.
    pub fn train(samples: &[Sample<'_>], classes: usize, options: &Options) -> Linear {
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for s in samples {
            for f in s.features {
                *counts.entry(*f).or_default() += 1;
            }
        }
        let mut known: Vec<u64> = counts.into_iter().filter(|(_, n)| *n >= options.min_count).map(|(f, _)| f).collect();
        known.sort_unstable();
        let index: HashMap<u64, u32> = known.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
        let mut model = Linear { classes, index, weights: vec![0.0; known.len() * classes], bias: vec![0.0; classes], stored: false };
        let mut grad_sq = vec![1e-6f32; model.weights.len()];
        let mut bias_sq = vec![1e-6f32; classes];
        let rows: Vec<Vec<u32>> =
            samples.iter().map(|s| s.features.iter().filter_map(|f| model.index.get(f).copied()).collect()).collect();
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut z = vec![0f32; classes];
        for _ in 0..options.epochs {
            shuffle(&mut order, &mut seed);
            for &i in &order {
                let row = &rows[i];
                let scale = 1.0 / (row.len().max(1) as f32).sqrt();
                model.scores_into(row, scale, &mut z);
                softmax(&mut z);
                let w = samples[i].weight * options.class_weights.get(samples[i].class).copied().unwrap_or(1.0);
                for c in 0..classes {
                    let target = if c == samples[i].class { 1.0 } else { 0.0 };
                    let g = (z[c] - target) * w;
                    bias_sq[c] += g * g;
                    model.bias[c] -= options.rate * g / bias_sq[c].sqrt();
                    for &f in row {
                        let k = f as usize * classes + c;
                        let gk = g * scale + options.l2 * model.weights[k];
                        grad_sq[k] += gk * gk;
                        model.weights[k] -= options.rate * gk / grad_sq[k].sqrt();
                    }
                }
            }
        }
        model
    }

    fn scores_into(&self, row: &[u32], scale: f32, z: &mut [f32]) {
        z.copy_from_slice(&self.bias);
        for &f in row {
            let base = f as usize * self.classes;
            for (c, v) in z.iter_mut().enumerate() {
                *v += self.weights[base + c] * scale;
            }
        }
    }

    /// The known features among `features`, as rows of the weight table.
    fn row(&self, features: &[u64]) -> Vec<u32> {
        features.iter().filter_map(|f| self.lookup(*f)).collect()
    }

    fn lookup(&self, feature: u64) -> Option<u32> {
        let key = if self.stored { feature & 0xffff_ffff } else { feature };
        self.index.get(&key).copied()
    }

    /// Whether the model has a weight for a feature.
    pub fn knows(&self, feature: u64) -> bool {
        self.lookup(feature).is_some()
    }

    /// The probability of each class.
    pub fn probabilities(&self, features: &[u64]) -> Vec<f32> {
        let row = self.row(features);
        let mut z = vec![0f32; self.classes];
        self.scores_into(&row, 1.0 / (row.len().max(1) as f32).sqrt(), &mut z);
        softmax(&mut z);
        z
    }

    /// How much each feature pushed `class` over the strongest other class, for the features
    /// the model knows; largest first.
    pub fn evidence(&self, features: &[u64], class: usize) -> Vec<(usize, f32)> {
        let mut out: Vec<(usize, f32)> = features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let base = self.lookup(*f)? as usize * self.classes;
                let w = &self.weights[base..base + self.classes];
                let other = (0..self.classes).filter(|c| *c != class).map(|c| w[c]).fold(f32::NEG_INFINITY, f32::max);
                Some((i, w[class] - other))
            })
            .filter(|(_, margin)| *margin > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Number of features with weights.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the model knows no feature.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The stored form: magic, classes, features, the weight scale, biases (f32), then each
    /// feature's hash (its low 32 bits) and weights as 16-bit integers times the scale, all
    /// little-endian. Features whose weights are all tiny are dropped.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut entries: Vec<(u32, u32)> = self
            .index
            .iter()
            .map(|(h, i)| (*h as u32, *i))
            .filter(|(_, i)| {
                let base = *i as usize * self.classes;
                self.weights[base..base + self.classes].iter().any(|w| w.abs() > 1e-3)
            })
            .collect();
        entries.sort_unstable();
        entries.dedup_by_key(|e| e.0);
        let max = self.weights.iter().fold(0f32, |m, w| m.max(w.abs())).max(1e-6);
        let scale = max / f32::from(i16::MAX);
        let mut out = Vec::with_capacity(16 + 4 * self.classes + entries.len() * (4 + 2 * self.classes));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.classes as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&scale.to_le_bytes());
        for b in &self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        for (h, i) in entries {
            out.extend_from_slice(&h.to_le_bytes());
            let base = i as usize * self.classes;
            for w in &self.weights[base..base + self.classes] {
                out.extend_from_slice(&((w / scale).round() as i16).to_le_bytes());
            }
        }
        out
    }

    /// Reads the stored form; `None` when it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Linear> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = bytes.get(at..at.checked_add(n)?)?;
            at += n;
            Some(s)
        };
        if take(4)? != MAGIC {
            return None;
        }
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let f32_at = |s: &[u8]| f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let classes = u32_at(take(4)?) as usize;
        let n = u32_at(take(4)?) as usize;
        if classes == 0 || classes > 64 || n > bytes.len() {
            return None;
        }
        let scale = f32_at(take(4)?);
        let bias = (0..classes).map(|_| take(4).map(f32_at)).collect::<Option<Vec<_>>>()?;
        let mut index = HashMap::with_capacity(n);
        let mut weights = Vec::with_capacity(n * classes);
        for i in 0..n {
            index.insert(u64::from(u32_at(take(4)?)), i as u32);
            for _ in 0..classes {
                let w = take(2)?;
                weights.push(f32::from(i16::from_le_bytes([w[0], w[1]])) * scale);
            }
        }
        Some(Linear { classes, index, weights, bias, stored: true })
    }
}
