//! Triage: every case's text (Chinese or English, simplified or traditional) is classified into
//! an urgency and a category, with how sure the classifier is and the words that decided it.
//! No I/O at run time: the models are trained from the labelled reports at build time and
//! compiled into the binary; a community can retrain them on its own staff corrections.
//!
//! Two layers (docs/triage.md):
//! 1. **Models**: a multinomial logistic regression for urgency and one for category, over
//!    character n-grams and words ([`features`]), trained on reports from many kinds of writer.
//! 2. **Safety layer** ([`safety`], `data/safety.toml`): a short list of high-precision
//!    life-safety wordings with one general treatment of denial, hypotheticals, the past and
//!    reports about a topic. It only ever raises the urgency.
//!
//! Below a confidence threshold an answer is marked for staff to classify (待人工分类).

mod corpus;
mod features;
mod linear;
mod model;
pub mod safety;
mod text;

pub use model::Models;
use serde::Serialize;
use std::sync::LazyLock;
pub use text::normalise;

/// How soon a case must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Suggestions, thanks, ideas.
    Low,
    /// Ordinary problems and requests.
    Normal,
    /// Serious disruption that must be handled today.
    Urgent,
    /// Life or safety at risk now.
    Critical,
}

impl Urgency {
    /// Every urgency, lowest first.
    pub const ALL: [Urgency; 4] = [Urgency::Low, Urgency::Normal, Urgency::Urgent, Urgency::Critical];
    /// Stored code.
    pub fn code(self) -> &'static str {
        corpus::URGENCIES[self as usize]
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Urgency::ALL.into_iter().find(|u| u.code() == s)
    }
}

/// What kind of problem or request a case is (defined in docs/triage.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 物业维修
    Repair,
    /// 市政设施
    Municipal,
    /// 环境卫生
    Sanitation,
    /// 安全隐患
    Safety,
    /// 生活服务
    Living,
    /// 养老助残
    Care,
    /// 邻里纠纷
    Dispute,
    /// 政策咨询
    Consult,
    /// 意见建议
    Suggestion,
}

impl Category {
    /// Every category, in class order.
    pub const ALL: [Category; 9] = [
        Category::Repair,
        Category::Municipal,
        Category::Sanitation,
        Category::Safety,
        Category::Living,
        Category::Care,
        Category::Dispute,
        Category::Consult,
        Category::Suggestion,
    ];
    /// Stored code.
    pub fn code(self) -> &'static str {
        corpus::CATEGORIES[self as usize]
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// A word or phrase that pushed the decision, and which way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// The words as they appear in the text (or a code such as `danger_now`).
    pub phrase: String,
    /// What they argued for, e.g. `urgency:critical` or `category:safety`.
    pub supports: String,
}

/// The outcome of triage.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Triage {
    /// How soon.
    pub urgency: Urgency,
    /// What kind.
    pub category: Category,
    /// How sure the classifier is of the urgency, 0 to 1.
    pub urgency_confidence: f32,
    /// How sure the classifier is of the category, 0 to 1.
    pub category_confidence: f32,
    /// Unsure: staff should classify it (待人工分类).
    pub to_review: bool,
    /// Why, most decisive first.
    pub reasons: Vec<Reason>,
    /// The model that classified it.
    pub model: String,
}

impl Triage {
    /// Whether a critical answer is sure enough to alert every member of staff at once; an
    /// unsure one alerts the staff on duty, who confirm it.
    pub fn alerts_everyone(&self) -> bool {
        self.urgency == Urgency::Critical && self.urgency_confidence >= ALERT_EVERYONE
    }
}

/// Below this confidence in either answer, a report is marked for staff to classify.
pub const REVIEW_BELOW: f32 = 0.5;
/// A critical answer at least this sure alerts everyone (a safety trigger counts as this sure).
pub const ALERT_EVERYONE: f32 = 0.8;
/// The confidence a safety trigger gives: its wordings are checked against the labelled
/// reports (`tests/safety.rs`) to be right at least this often.
const TRIGGER_CONFIDENCE: f32 = 0.9;
/// A report the model ranks low or normal is raised to urgent when urgent and critical
/// together are at least this likely (chosen by leaving each kind of writer out).
const RAISE_AT: f32 = 0.6;

/// The model alone ranks a report critical only when it is at least this sure; otherwise urgent.
const CRITICAL_AT: f32 = 0.6;
/// A report the urgency model gives at least this chance of being critical is ranked at least
/// urgent, even when another urgency is likelier: a critical report ranked normal waits hours,
/// a normal one ranked urgent costs a look. Chosen on the reports left out of training
/// (docs/triage.md): the project's reports left out missed 26 critical reports instead of 55,
/// for 1.7 points of the voices' urgency accuracy.
const CRITICAL_FLOOR: f32 = 0.15;

/// A trained pair of models with the name of its version.
pub struct Classifier {
    models: Models,
    version: String,
}

static SHIPPED: LazyLock<std::sync::Arc<Classifier>> = LazyLock::new(|| {
    let bytes = include_bytes!(concat!(env!("OUT_DIR"), "/models.bin"));
    let models = Models::from_bytes(bytes).expect("the build script wrote a model pair");
    std::sync::Arc::new(Classifier { models, version: shipped_version(bytes) })
});

/// `shipped-` and a short hash of the shipped models, so a change of data or code shows.
fn shipped_version(bytes: &[u8]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("shipped-{h:08x}")
}

/// A report a community's staff classified, to learn from.
#[derive(Debug, Clone)]
pub struct Correction {
    /// The report.
    pub text: String,
    /// What staff said it is.
    pub urgency: Urgency,
    /// What staff said it is.
    pub category: Category,
}

/// How much a staff correction counts against one shipped example.
const CORRECTION_WEIGHT: f32 = 3.0;

impl Classifier {
    /// The models compiled into the binary.
    pub fn shipped() -> &'static Classifier {
        &SHIPPED
    }

    /// The shipped models, shared, for a holder that may also hold a community's own.
    pub fn shipped_shared() -> std::sync::Arc<Classifier> {
        SHIPPED.clone()
    }

    /// Trains on the shipped examples plus a community's corrections.
    pub fn train(version: impl Into<String>, corrections: &[Correction]) -> Classifier {
        let mut examples: Vec<model::Example<'_>> = corpus()
            .iter()
            .map(|e| model::Example { text: e.text, urgency: e.urgency as usize, category: e.category as usize, weight: 1.0 })
            .collect();
        examples.extend(corrections.iter().map(|c| model::Example {
            text: &c.text,
            urgency: c.urgency as usize,
            category: c.category as usize,
            weight: CORRECTION_WEIGHT,
        }));
        Classifier { models: Models::train(&examples), version: version.into() }
    }

    /// Trains on the examples `keep` accepts only: for measuring on the others.
    pub fn train_without(keep: impl Fn(&Example) -> bool) -> Classifier {
        let examples: Vec<model::Example<'_>> = corpus()
            .iter()
            .filter(|e| keep(e))
            .map(|e| model::Example {
                text: e.text,
                urgency: e.urgency as usize,
                category: e.category as usize,
                weight: 1.0,
            })
            .collect();
        Classifier { models: Models::train(&examples), version: "held-out".into() }
    }

    /// Reads a stored pair of models.
    pub fn from_bytes(version: impl Into<String>, bytes: &[u8]) -> Option<Classifier> {
        Some(Classifier { models: Models::from_bytes(bytes)?, version: version.into() })
    }

    /// The stored form of the models.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.models.to_bytes()
    }

    /// Its version, recorded on each case it classifies.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Classifies a report.
    pub fn classify(&self, text: &str) -> Triage {
        let (chars, origin) = text::normalised(text);
        let feats = features::extract(&chars);
        let hashes: Vec<u64> = feats.iter().map(|f| f.hash).collect();
        let pu = self.models.urgency.probabilities(&hashes);
        let pc = self.models.category.probabilities(&hashes);
        let argmax = |p: &[f32]| (0..p.len()).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(0);
        let mut urgency = Urgency::ALL[argmax(&pu)];
        let mut urgency_confidence = pu[urgency as usize];
        let mut category = Category::ALL[argmax(&pc)];
        let mut category_confidence = pc[category as usize];
        let serious = pu[Urgency::Urgent as usize] + pu[Urgency::Critical as usize];
        if urgency == Urgency::Critical && pu[Urgency::Critical as usize] < CRITICAL_AT {
            // Critical alerts people at once: the model alone must be sure of it.
            urgency = Urgency::Urgent;
            urgency_confidence = serious;
        }
        if urgency < Urgency::Urgent && (serious >= RAISE_AT || pu[Urgency::Critical as usize] >= CRITICAL_FLOOR) {
            urgency = Urgency::Urgent;
            urgency_confidence = serious;
        }
        let show = |start: usize, end: usize| -> String {
            let (Some(&a), Some(&b)) = (origin.get(start), origin.get(end.saturating_sub(1))) else { return String::new() };
            text.chars().skip(a).take(b + 1 - a).collect()
        };
        let mut reasons = Vec::new();
        let normalised: String = chars.iter().collect();
        let mut said_critical = false;
        if let Some(hit) = safety::RULES.hits(&normalised).into_iter().next() {
            let raised = hit.trigger.urgency();
            said_critical = raised == Urgency::Critical;
            if raised >= urgency {
                if raised > urgency {
                    urgency = raised;
                    urgency_confidence = TRIGGER_CONFIDENCE;
                } else {
                    urgency_confidence = urgency_confidence.max(TRIGGER_CONFIDENCE);
                }
                if let Some(c) = hit.trigger.category() {
                    if c != category {
                        category = c;
                        category_confidence = category_confidence.max(pc[c as usize]).max(TRIGGER_CONFIDENCE);
                    }
                }
                reasons.push(Reason { phrase: show(hit.start, hit.end), supports: format!("urgency:{}", urgency.code()) });
            }
        }
        if urgency == Urgency::Low && category != Category::Suggestion {
            // Ideas and thanks are suggestions; a low answer about anything else is unsure.
            let suggestion = pc[Category::Suggestion as usize];
            category = Category::Suggestion;
            category_confidence = suggestion;
        }
        let explain = |reasons: &mut Vec<Reason>, model: &linear::Linear, class: usize, supports: String| {
            let mut shown = 0;
            for (i, _) in model.evidence(&hashes, class) {
                let f = feats[i];
                if f.end <= f.start {
                    continue;
                }
                let phrase = show(f.start, f.end);
                if phrase.trim().is_empty() || reasons.iter().any(|r: &Reason| r.phrase.contains(&phrase) || phrase.contains(&r.phrase)) {
                    continue;
                }
                reasons.push(Reason { phrase, supports: supports.clone() });
                shown += 1;
                if shown == 2 {
                    break;
                }
            }
        };
        if reasons.is_empty() {
            explain(&mut reasons, &self.models.urgency, urgency as usize, format!("urgency:{}", urgency.code()));
        }
        explain(&mut reasons, &self.models.category, category as usize, format!("category:{}", category.code()));
        // A report with (nearly) no word the models learned from is read from its form alone: unsure.
        let known = feats.iter().filter(|f| f.end > f.start && self.models.category.knows(f.hash)).count();
        // Nor is one with hardly any different letters (a key held down, a number): junk.
        let distinct: std::collections::HashSet<char> = chars.iter().copied().filter(|c| c.is_alphanumeric()).collect();
        if (known < 2 || distinct.len() < 3) && !said_critical {
            urgency_confidence = urgency_confidence.min(REVIEW_BELOW / 2.0);
            category_confidence = category_confidence.min(REVIEW_BELOW / 2.0);
            // Its length, digits or punctuation alone never make it critical: critical texts
            // the staff on duty at once, and anyone could page them with a line of junk. Words
            // of the safety layer (救命, 着火了) still do.
            if urgency == Urgency::Critical {
                urgency = Urgency::Urgent;
                reasons.retain(|r| !r.supports.starts_with("urgency:critical"));
            }
        }
        let to_review = urgency_confidence < REVIEW_BELOW || category_confidence < REVIEW_BELOW;
        Triage { urgency, category, urgency_confidence, category_confidence, to_review, reasons, model: self.version.clone() }
    }
}

/// Classifies a report with the shipped models.
pub fn classify(text: &str) -> Triage {
    Classifier::shipped().classify(text)
}

/// The classifier failed on a report; the message says how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

/// Classifies a report with `classifier`, turning any failure into an error instead of a
/// panic, so that a caller can still keep the report (see [`unclassified`]).
pub fn try_classify_with(classifier: &Classifier, text: &str) -> Result<Triage, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| classifier.classify(text))).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "classifier panicked".to_string());
        Failure(message)
    })
}

/// [`try_classify_with`] the shipped models.
pub fn try_classify(text: &str) -> Result<Triage, Failure> {
    try_classify_with(Classifier::shipped(), text)
}

/// What a report is taken to be when the classifier could not read it: urgent, so that
/// someone looks at it soon, under `consult` until staff classify it.
pub fn unclassified() -> Triage {
    Triage {
        urgency: Urgency::Urgent,
        category: Category::Consult,
        urgency_confidence: 0.0,
        category_confidence: 0.0,
        to_review: true,
        reasons: vec![Reason { phrase: "triage_failed".into(), supports: "urgency:urgent".into() }],
        model: "none".into(),
    }
}

/// One labelled report of the shipped corpus.
#[derive(Debug, Clone)]
pub struct Example {
    /// Expected urgency.
    pub urgency: Urgency,
    /// Expected category.
    pub category: Category,
    /// The report.
    pub text: &'static str,
    /// The file it comes from, e.g. `voices/elder-voice.tsv`.
    pub source: &'static str,
    /// The kind of writer (`project` for the files written in the project's own voice).
    pub kind: &'static str,
}

/// The labelled reports the shipped models learn from (never `data/final/`).
pub fn corpus() -> &'static [Example] {
    static PARSED: LazyLock<Vec<Example>> = LazyLock::new(|| {
        corpus::parse(include_str!(concat!(env!("OUT_DIR"), "/corpus.tsv")))
            .into_iter()
            .map(|l| Example {
                urgency: Urgency::ALL[l.urgency],
                category: Category::ALL[l.category],
                text: l.text,
                source: l.source,
                kind: l.kind,
            })
            .collect()
    });
    &PARSED
}

/// The kinds of writer in the corpus, in order of first appearance.
pub fn kinds() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in corpus() {
        if !out.contains(&e.kind) {
            out.push(e.kind);
        }
    }
    out
}

/// Parses labelled reports in the corpus format (`urgency<TAB>category<TAB>text`), e.g. a file
/// of `data/final/`.
pub fn parse_labelled(source: &str) -> Vec<(Urgency, Category, String)> {
    source
        .lines()
        .filter_map(corpus::parse_line)
        .map(|(u, c, t)| (Urgency::ALL[u], Category::ALL[c], t.to_string()))
        .collect()
}

/// Accuracy on a set of labelled reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Accuracy {
    /// Reports evaluated.
    pub total: usize,
    /// Urgency right.
    pub urgency_correct: usize,
    /// Category right.
    pub category_correct: usize,
    /// Critical reports.
    pub critical: usize,
    /// Critical reports ranked below urgent (must be zero).
    pub critical_missed: usize,
    /// Critical reports ranked critical.
    pub critical_found: usize,
    /// Reports ranked critical.
    pub ranked_critical: usize,
    /// Reports ranked critical that are not.
    pub false_critical: usize,
    /// Reports marked for staff to classify.
    pub to_review: usize,
    /// Of those not marked: urgency right.
    pub confident_urgency_correct: usize,
    /// Of those not marked: category right.
    pub confident_category_correct: usize,
    /// The misclassified reports: `(text, expected, got)`.
    pub errors: Vec<(String, String, String)>,
}

impl Accuracy {
    /// Urgency right, in percent.
    pub fn urgency(&self) -> f64 {
        100.0 * self.urgency_correct as f64 / self.total.max(1) as f64
    }
    /// Category right, in percent.
    pub fn category(&self) -> f64 {
        100.0 * self.category_correct as f64 / self.total.max(1) as f64
    }
    /// Adds another set's counts.
    pub fn add(&mut self, other: Accuracy) {
        self.total += other.total;
        self.urgency_correct += other.urgency_correct;
        self.category_correct += other.category_correct;
        self.critical += other.critical;
        self.critical_missed += other.critical_missed;
        self.critical_found += other.critical_found;
        self.ranked_critical += other.ranked_critical;
        self.false_critical += other.false_critical;
        self.to_review += other.to_review;
        self.confident_urgency_correct += other.confident_urgency_correct;
        self.confident_category_correct += other.confident_category_correct;
        self.errors.extend(other.errors);
    }
}

/// The outcome of retraining on a community's corrections.
pub struct Retrained {
    /// The new classifier, trained on the shipped examples and every correction.
    pub classifier: Classifier,
    /// Corrections held out to compare the two.
    pub held_out: usize,
    /// The classifier in use, on the held-out corrections.
    pub before: Accuracy,
    /// A classifier trained without the held-out corrections, on them.
    pub after: Accuracy,
}

impl Retrained {
    /// Whether the new classifier may replace the one in use: on the corrections it was not
    /// trained on, it is not worse at urgency nor at category, and misses no more critical reports.
    pub fn not_worse(&self) -> bool {
        self.after.urgency_correct >= self.before.urgency_correct
            && self.after.category_correct >= self.before.category_correct
            && self.after.critical_missed <= self.before.critical_missed
    }
}

/// Retrains on a community's corrections, of which those from `unseen_from` on were not seen by
/// `current` (all of them when it is the shipped model): of those, every fifth (at least one)
/// is held out, a candidate trained on the rest is compared with `current` on them — neither
/// has seen them — and the classifier returned is trained on all of them, to be switched to
/// only when [`Retrained::not_worse`].
pub fn retrain(current: &Classifier, version: impl Into<String>, corrections: &[Correction], unseen_from: usize) -> Retrained {
    let unseen_from = unseen_from.min(corrections.len());
    let fresh = corrections.len() - unseen_from;
    let is_held = |i: usize| i >= unseen_from && ((i - unseen_from) % 5 == 4 || (fresh < 5 && i == unseen_from));
    let held: Vec<&Correction> = corrections.iter().enumerate().filter(|(i, _)| is_held(*i)).map(|(_, c)| c).collect();
    let rest: Vec<Correction> = corrections.iter().enumerate().filter(|(i, _)| !is_held(*i)).map(|(_, c)| c.clone()).collect();
    let candidate = Classifier::train("candidate", &rest);
    let score = |c: &Classifier| evaluate(c, held.iter().map(|h| (h.urgency, h.category, h.text.as_str())));
    Retrained {
        before: score(current),
        after: score(&candidate),
        held_out: held.len(),
        classifier: Classifier::train(version, corrections),
    }
}

/// Scores a classifier on labelled reports.
pub fn evaluate<'a>(classifier: &Classifier, reports: impl IntoIterator<Item = (Urgency, Category, &'a str)>) -> Accuracy {
    let mut acc = Accuracy::default();
    for (urgency, category, text) in reports {
        let t = classifier.classify(text);
        acc.total += 1;
        acc.urgency_correct += usize::from(t.urgency == urgency);
        acc.category_correct += usize::from(t.category == category);
        if urgency == Urgency::Critical {
            acc.critical += 1;
            acc.critical_missed += usize::from(t.urgency < Urgency::Urgent);
            acc.critical_found += usize::from(t.urgency == Urgency::Critical);
        }
        if t.urgency == Urgency::Critical {
            acc.ranked_critical += 1;
            acc.false_critical += usize::from(urgency != Urgency::Critical);
        }
        if t.to_review {
            acc.to_review += 1;
        } else {
            acc.confident_urgency_correct += usize::from(t.urgency == urgency);
            acc.confident_category_correct += usize::from(t.category == category);
        }
        if t.urgency != urgency || t.category != category {
            acc.errors.push((
                text.to_string(),
                format!("{}/{}", urgency.code(), category.code()),
                format!("{}/{} {:.2}/{:.2}", t.urgency.code(), t.category.code(), t.urgency_confidence, t.category_confidence),
            ));
        }
    }
    acc
}

/// Leaves one kind of writer out: trains without it, scores on it.
pub fn evaluate_kind_held_out(kind: &str) -> Accuracy {
    let classifier = Classifier::train_without(|e| e.kind != kind);
    evaluate(&classifier, corpus().iter().filter(|e| e.kind == kind).map(|e| (e.urgency, e.category, e.text)))
}
