//! Triage: every case's text (Chinese or English) is classified into an urgency and a category,
//! with the words that decided it. No I/O: the lexicon and the labelled examples are compiled
//! into the binary, and the category model is trained from the examples on first use.
//!
//! Urgency comes from cues (phrases, and concepts: a thing and its failure close together) in
//! a fixed order of precedence — a life-safety cue always wins, and a report that is about the
//! past or says thanks is not an emergency now; a safety floor of broad danger words, applied
//! after every filter that can drop a cue and switched off only near a harmless use, keeps
//! any plausible danger to life at least urgent, and a guard keeps harm to a person, a threat,
//! fire, a weapon or a missing, unresponsive or trapped person told in the present at least
//! urgent whatever idea, thanks, time or habit words surround it — with a naive Bayes tie-breaker that lifts a
//! report no rule matched to urgent when it reads overwhelmingly like the urgent and critical
//! examples; and under both a danger net (broad short danger words beside a person or a word
//! of the present, or a weak one confirmed by a critical-versus-rest model) that raises only
//! `normal` to `urgent`. Category combines a lexicon of domain words with a naive Bayes model over
//! character n-grams for reports the lexicon does not cover.

mod bayes;
mod lexicon;

use serde::Serialize;
use std::sync::LazyLock;

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
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
            Urgency::Critical => "critical",
        }
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Urgency::ALL.into_iter().find(|u| u.code() == s)
    }
}

/// What kind of problem or request a case is.
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
    /// Every category.
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
        match self {
            Category::Repair => "repair",
            Category::Municipal => "municipal",
            Category::Sanitation => "sanitation",
            Category::Safety => "safety",
            Category::Living => "living",
            Category::Care => "care",
            Category::Dispute => "dispute",
            Category::Consult => "consult",
            Category::Suggestion => "suggestion",
        }
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.code() == s)
    }
    fn index(self) -> usize {
        Category::ALL.iter().position(|c| *c == self).expect("listed")
    }
}

/// A word or phrase that pushed the decision, and which way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    /// The words as they appear in the text.
    pub phrase: String,
    /// What they argued for, e.g. `urgency:critical` or `category:safety`.
    pub supports: String,
}

/// The outcome of triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Triage {
    /// How soon.
    pub urgency: Urgency,
    /// What kind.
    pub category: Category,
    /// Why, most decisive first.
    pub reasons: Vec<Reason>,
}

/// Lowercases ASCII and turns full-width letters, digits and punctuation into half-width, so
/// cue phrases match however a phone keyboard typed them.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Everything but the test set trains the models.
fn training() -> impl Iterator<Item = &'static Example> + Clone {
    examples().iter().filter(|e| e.split != Split::Test)
}

/// The learned models: category, urgency (a tie-breaker under the rules), and critical versus
/// the rest (for the danger net).
struct Models {
    category: bayes::Model,
    urgency: bayes::Model,
    danger: bayes::Model,
}

impl Models {
    fn train<'a>(examples: impl Iterator<Item = &'a Example> + Clone) -> Self {
        Models {
            category: bayes::Model::train(examples.clone(), Category::ALL.len(), true, |e| e.category.index()),
            // Bigrams only: single characters made the urgency model flag ordinary reports.
            urgency: bayes::Model::train(examples.clone(), Urgency::ALL.len(), false, |e| e.urgency as usize),
            danger: bayes::Model::train_on(examples, 2, true, |e| usize::from(e.urgency == Urgency::Critical), lexicon::defuse),
        }
    }
}

/// How sure the urgency model must be (urgent + critical) to lift a report the rules left
/// normal. Chosen by leaving each file out of training: on `validation-4.tsv` with the lexicon
/// as it was before that file was seen, it lifted urgency from 86.7 % to 91.7 % and kept every
/// critical report at least urgent; on the files the lexicon already fits it costs ≤ 1 point.
const TIE_BREAK: f64 = 0.99;

/// The danger net's model threshold: a report with only a weak danger cue (a kernel or absence
/// word with no person or present word beside it) is raised when the critical-versus-rest
/// model gives it a critical probability above this. Chosen by leaving each file out of
/// training (`docs/triage.md`): from 0.99 down to 0.2 it catches the same critical reports,
/// and 0.5 raises 3 ordinary reports of 2,540.
const DANGER: f64 = 0.5;

/// The danger net, under the rules and the tie-breaker: a report they left `normal` is raised
/// to `urgent` (never further, never from `low`, never lowered) when it has a danger cue of the
/// net (`lexicon::danger_net`: a short danger word beside a person or a word of the present,
/// or a person beside a word for absence), or a weak one and a critical-versus-rest naive
/// Bayes model over characters, bigrams and English words finds it likely critical.
fn danger_net(models: &Models, norm: &str, decision: &mut lexicon::UrgencyDecision) {
    if decision.urgency != Urgency::Normal {
        return;
    }
    let cue = lexicon::danger_net(norm, false).or_else(|| {
        let weak = lexicon::danger_net(norm, true)?;
        (models.danger.posterior(&lexicon::defuse(norm))[1] > DANGER).then_some(weak)
    });
    if let Some(phrase) = cue {
        decision.urgency = Urgency::Urgent;
        decision.reasons.insert(0, Reason { phrase, supports: "urgency:urgent".into() });
    }
}

static MODELS: LazyLock<Models> = LazyLock::new(|| Models::train(training()));

/// Classifies a report.
pub fn classify(text: &str) -> Triage {
    classify_with(&MODELS, text)
}

/// The classifier failed on a report; the message says how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

/// Classifies a report, turning any failure of the classifier into an error instead of a
/// panic, so that a caller can still keep the report (see [`unclassified`]).
pub fn try_classify(text: &str) -> Result<Triage, Failure> {
    std::panic::catch_unwind(|| classify(text)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "classifier panicked".to_string());
        Failure(message)
    })
}

/// What a report is taken to be when the classifier could not read it: urgent, so that
/// someone looks at it soon, under `consult` until staff classify it.
pub fn unclassified() -> Triage {
    Triage {
        urgency: Urgency::Urgent,
        category: Category::Consult,
        reasons: vec![Reason { phrase: "triage_failed".into(), supports: "urgency:urgent".into() }],
    }
}

/// The rules and the tie-breaker, before the danger net.
fn pre_net(models: &Models, norm: &str) -> lexicon::UrgencyDecision {
    let norm = norm.to_string();
    let mut decision = lexicon::urgency(&norm);
    // A tie-breaker under the rules: when no cue phrase fired, a report that reads
    // overwhelmingly like the urgent and critical examples is urgent, so an unseen wording of
    // a burst pipe or an emergency is not lost. It never lowers what a rule decided, and never
    // touches an idea or thanks (low), so a critical report ranks at least urgent either way.
    if decision.urgency == Urgency::Normal {
        let p = models.urgency.posterior(&norm);
        let (urgent, critical) = (p[Urgency::Urgent as usize], p[Urgency::Critical as usize]);
        if urgent + critical > TIE_BREAK {
            decision.urgency = Urgency::Urgent;
            let like = if critical > urgent { Urgency::Critical } else { Urgency::Urgent };
            for gram in models.urgency.evidence(&norm, like as usize).into_iter().take(2).rev() {
                decision.reasons.insert(0, Reason { phrase: gram, supports: "urgency:urgent".into() });
            }
        }
    }
    decision
}

fn classify_with(models: &Models, text: &str) -> Triage {
    let norm = normalise(text);
    let mut decision = pre_net(models, &norm);
    danger_net(models, &norm, &mut decision);
    let urgency = decision.urgency;
    let mut reasons = decision.reasons.clone();
    let mut scores = [0f64; 9];
    let mut category_reasons: Vec<(Category, String, f64)> = Vec::new();
    for (cat, phrase, weight) in lexicon::category_cues(&norm) {
        scores[cat.index()] += weight;
        category_reasons.push((cat, phrase, weight));
    }
    // The lexicon decides when it speaks clearly; the learned model breaks ties and covers
    // reports without any known domain word.
    let probs = models.category.posterior(&norm);
    for (i, p) in probs.iter().enumerate() {
        scores[i] += 1.5 * p;
    }
    lexicon::adjust_for_urgency(&decision, &mut scores);
    let best = (0..9).max_by(|a, b| scores[*a].total_cmp(&scores[*b])).unwrap_or(0);
    let category = Category::ALL[best];
    category_reasons.retain(|(c, _, _)| *c == category);
    category_reasons.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (c, phrase, _) in category_reasons.into_iter().take(3) {
        reasons.push(Reason { phrase, supports: format!("category:{}", c.code()) });
    }
    if !reasons.iter().any(|r| r.supports.starts_with("category:")) {
        for gram in models.category.evidence(&norm, best).into_iter().take(2) {
            reasons.push(Reason { phrase: gram, supports: format!("category:{}", category.code()) });
        }
    }
    Triage { urgency, category, reasons }
}

/// Which part of the labelled set an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Trains the model; its errors guided the lexicon.
    Train,
    /// Every fourth example of `examples.tsv`, and `validation-*.tsv`: each was written as a
    /// fresh test set, then its errors guided the lexicon, so it is no longer an unbiased
    /// measure; they also train the model.
    Validation,
    /// `test-final.tsv`, written separately and never looked at while building the classifier:
    /// the accuracy reported in the docs.
    Test,
}

/// One labelled example.
#[derive(Debug, Clone)]
pub struct Example {
    /// Expected urgency.
    pub urgency: Urgency,
    /// Expected category.
    pub category: Category,
    /// The report.
    pub text: &'static str,
    /// Train or held out.
    pub split: Split,
    /// The file it comes from, e.g. `validation-2.tsv`.
    pub source: &'static str,
}

const EXAMPLES: &str = include_str!("../data/examples.tsv");
const VALIDATION_1: &str = include_str!("../data/validation-1.tsv");
const VALIDATION_2: &str = include_str!("../data/validation-2.tsv");
const VALIDATION_3: &str = include_str!("../data/validation-3.tsv");
const VALIDATION_4: &str = include_str!("../data/validation-4.tsv");
const VALIDATION_5: &str = include_str!("../data/validation-5.tsv");
const VALIDATION_6: &str = include_str!("../data/validation-6.tsv");
const VALIDATION_7: &str = include_str!("../data/validation-7.tsv");
const VALIDATION_8: &str = include_str!("../data/validation-8.tsv");
const VALIDATION_9: &str = include_str!("../data/validation-9.tsv");
const VALIDATION_10: &str = include_str!("../data/validation-10.tsv");
const VALIDATION_11: &str = include_str!("../data/validation-11.tsv");
const TEST: &str = include_str!("../data/test-final.tsv");

fn parse(name: &'static str, source: &'static str, split: impl Fn(usize) -> Split) -> impl Iterator<Item = Example> {
    source.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).enumerate().filter_map(move |(i, line)| {
        let mut cols = line.splitn(3, '\t');
        let urgency = Urgency::parse(cols.next()?.trim())?;
        let category = Category::parse(cols.next()?.trim())?;
        let text = cols.next()?.trim();
        Some(Example { urgency, category, text, split: split(i), source: name })
    })
}

/// The labelled examples: `data/examples.tsv` (train, and every fourth line for validation),
/// `data/validation-*.tsv` (validation) and `data/test-final.tsv` (test).
pub fn examples() -> &'static [Example] {
    static PARSED: LazyLock<Vec<Example>> = LazyLock::new(|| {
        parse("examples.tsv", EXAMPLES, |i| if i % 4 == 3 { Split::Validation } else { Split::Train })
            .chain(parse("validation-1.tsv", VALIDATION_1, |_| Split::Validation))
            .chain(parse("validation-2.tsv", VALIDATION_2, |_| Split::Validation))
            .chain(parse("validation-3.tsv", VALIDATION_3, |_| Split::Validation))
            .chain(parse("validation-4.tsv", VALIDATION_4, |_| Split::Validation))
            .chain(parse("validation-5.tsv", VALIDATION_5, |_| Split::Validation))
            .chain(parse("validation-6.tsv", VALIDATION_6, |_| Split::Validation))
            .chain(parse("validation-7.tsv", VALIDATION_7, |_| Split::Validation))
            .chain(parse("validation-8.tsv", VALIDATION_8, |_| Split::Validation))
            .chain(parse("validation-9.tsv", VALIDATION_9, |_| Split::Validation))
            .chain(parse("validation-10.tsv", VALIDATION_10, |_| Split::Validation))
            .chain(parse("validation-11.tsv", VALIDATION_11, |_| Split::Validation))
            .chain(parse("test-final.tsv", TEST, |_| Split::Test))
            .collect()
    });
    &PARSED
}

/// Accuracy on one split.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Accuracy {
    /// Examples evaluated.
    pub total: usize,
    /// Urgency right.
    pub urgency_correct: usize,
    /// Category right.
    pub category_correct: usize,
    /// Critical examples ranked below urgent (must be zero).
    pub critical_missed: usize,
    /// Normal or low examples ranked urgent or critical: what the safety floor costs.
    pub raised: usize,
    /// The misclassified examples: `(text, expected, got)`.
    pub errors: Vec<(String, String, String)>,
}

/// Evaluates the classifier on a split of the labelled examples.
pub fn evaluate(split: Split) -> Accuracy {
    evaluate_where(|e| e.split == split)
}

/// Evaluates the classifier on the examples of one file (`validation-2.tsv`, …); for
/// `examples.tsv`, only its validation lines.
pub fn evaluate_file(source: &str) -> Accuracy {
    evaluate_where(|e| e.source == source && e.split != Split::Train)
}

/// Like [`evaluate_file`], but with the learned models trained without the file's examples
/// (nor any example with the same text), an honest check of how the models generalise. The
/// lexicon still saw every file but the test set.
pub fn evaluate_file_held_out(source: &str) -> Accuracy {
    let held: Vec<&Example> = examples().iter().filter(|e| e.source == source && e.split != Split::Train).collect();
    let texts: std::collections::HashSet<&str> = held.iter().map(|e| e.text).collect();
    let models = Models::train(training().filter(|e| !texts.contains(e.text)));
    score(&models, held.into_iter())
}

fn evaluate_where(keep: impl Fn(&Example) -> bool) -> Accuracy {
    score(&MODELS, examples().iter().filter(|e| keep(e)))
}

fn score<'a>(models: &Models, examples: impl Iterator<Item = &'a Example>) -> Accuracy {
    let mut acc = Accuracy::default();
    for e in examples {
        let t = classify_with(models, e.text);
        acc.total += 1;
        acc.urgency_correct += usize::from(t.urgency == e.urgency);
        acc.category_correct += usize::from(t.category == e.category);
        if e.urgency == Urgency::Critical && t.urgency < Urgency::Urgent {
            acc.critical_missed += 1;
        }
        if e.urgency <= Urgency::Normal && t.urgency >= Urgency::Urgent {
            acc.raised += 1;
        }
        if t.urgency != e.urgency || t.category != e.category {
            acc.errors.push((
                e.text.to_string(),
                format!("{}/{}", e.urgency.code(), e.category.code()),
                format!("{}/{}", t.urgency.code(), t.category.code()),
            ));
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_safety_words_are_critical() {
        for text in ["3栋2单元楼道里有很浓的煤气味", "我家老人在卫生间摔倒了起不来", "电梯困人了,里面有小孩", "楼下着火了,好大的烟"] {
            assert_eq!(classify(text).urgency, Urgency::Critical, "{text}");
        }
    }

    #[test]
    fn thanks_about_a_past_fire_is_not_an_emergency() {
        let t = classify("上次楼道起火的事,谢谢社区和消防的及时处理");
        assert_eq!(t.urgency, Urgency::Low);
        assert_eq!(t.category, Category::Suggestion);
    }

    #[test]
    fn reasons_name_the_deciding_words() {
        let t = classify("楼道里闻到煤气味");
        assert!(t.reasons.iter().any(|r| r.phrase.contains("煤气") && r.supports == "urgency:critical"), "{:?}", t.reasons);
    }

    #[test]
    fn a_thing_and_its_failure_match_in_words_no_cue_lists() {
        for (text, urgency) in [
            ("我们这栋楼从下午起黑灯瞎火的 一直没来电", Urgency::Urgent),
            ("五号楼电梯彻底歇菜了 里面没人", Urgency::Urgent),
            ("外墙瓷砖松了好几块 一刮风就往下掉渣子", Urgency::Urgent),
            ("Water is gushing out of a broken pipe in the stairwell", Urgency::Urgent),
            ("活动室里有个老人刚才突然晕过去了 嘴唇发紫", Urgency::Critical),
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, urgency, "{text}: {:?}", t.reasons);
        }
    }

    #[test]
    fn denied_hypothetical_and_planned_failures_are_not_urgent() {
        for text in [
            "燃气灶打不着火 咔咔响 也没闻到什么味道",
            "楼上把花盆放在窗台外面,我担心掉下来,跟他说了不听",
            "单元门的闭门器坏了 门天天砰砰地摔",
            "When is the planned power cut for building 9 next week?",
            "燃气报警器隔一会儿就嘀一声 应该是电池没电了",
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, Urgency::Normal, "{text}: {:?}", t.reasons);
        }
    }

    /// Wordings of emergencies written to probe the safety floor (none is in the data files).
    /// Written while the cues were being added, so they check the cues, not accuracy.
    #[test]
    fn plausible_dangers_are_at_least_urgent() {
        for text in [
            "隔壁屋里着了 火往外窜",
            "楼下那户窗户里冒出好多烟 黑乎乎的",
            "窗帘烧着了 快来人",
            "厨房好像有一股煤汽的味道 头有点晕",
            "液化气罐漏了 一屋子味",
            "独居老人一天没应门",
            "我妈打了一上午电话都没人接 她一个人住 平时都接的",
            "家里有人吃了一整瓶药 叫不醒",
            "我爸从床上摔下来 头磕破了流了好多血",
            "奶奶下楼遛弯到现在还没回来 天都黑了",
            "孩子放学两个小时了还没到家 电话手表也打不通",
            "楼上一直有人在喊救命",
            "小孩掉河里了",
            "宝宝吞了个硬币 脸都憋紫了",
            "我觉得楼道里有煤气味",
            "我妈以前中风过 刚才又突然说不了话了",
            "电瓶车在楼道里充电 线都烫手了 还有一股糊味",
            "My 4 year old daughter wandered off in the park near block 3",
            "Our toddler is gone, we looked everywhere in the courtyard",
            "The lady upstairs has not opened her door for two days and her phone is off",
            "My husband fell down the stairs and won't wake up",
            "A man is shouting and hitting a woman in the car park",
            "There's smoke coming from under my neighbour's door",
        ] {
            let t = classify(text);
            assert!(t.urgency >= Urgency::Urgent, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
    }

    /// The English side of the families, and water reaching electricity or sparks in either
    /// language (none is in the data files).
    #[test]
    fn english_dangers_water_on_electricity_and_sparks_are_critical() {
        for (text, category) in [
            ("Water is dripping onto the fuse box in the basement", Category::Repair),
            ("Rain is coming in and running down the wall onto the plug sockets", Category::Repair),
            ("插排泡在水里了", Category::Repair),
            ("楼上漏水滴到我家卫生间灯上 灯一闪一闪的", Category::Repair),
            ("小区变压器旁边积水很深", Category::Municipal),
            ("Our kitchen socket is sparking and there's a burning smell", Category::Safety),
            ("电线噼里啪啦响 冒烟了", Category::Safety),
            ("There's a hissing sound from the gas pipe in the kitchen", Category::Safety),
            ("液化气罐好像漏了", Category::Safety),
            ("A power line is down across the path after the storm", Category::Safety),
            ("My neighbour threatened to kill me", Category::Safety),
            ("An old man fainted at the bus stop outside block 4", Category::Care),
            ("Three people are stuck in the lift between floors", Category::Repair),
        ] {
            let t = classify(text);
            assert_eq!((t.urgency, t.category), (Urgency::Critical, category), "{text}: {:?}", t.reasons);
        }
        for text in ["水电费怎么交", "水龙头开关坏了 一直滴水", "The gas bill this month seems too high", "The water and electric bills are too high", "单元门闭门器坏了 门天天砰砰地摔"] {
            let t = classify(text);
            assert!(t.urgency < Urgency::Critical, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
    }

    /// The danger families broadened after round 7 (none of these is in the data files): an
    /// alarm sounding with nobody answering, poisoning symptoms beside gas or charcoal, signs
    /// that nobody has been in or out, water and electricity anywhere in a sentence.
    #[test]
    fn alarms_poisoning_no_answer_and_water_near_electricity() {
        for text in [
            "厨房水管漏了 水都流到插线板上了 冰箱还插着",
            "洗衣机在漏水 插头泡在水里了",
            "隔壁的报警器一直在响 敲门没人应",
            "家里烧炭取暖 老人说头疼想吐",
            "The gas detector keeps beeping and my wife feels dizzy",
            "My dad's SOS pendant went off and he is not answering",
            "独居的王奶奶门口的牛奶放了三天没人拿 敲门没人应",
            "网格员反映 9幢老人两天无应答 窗帘一直拉着",
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, Urgency::Critical, "{text}: {:?}", t.reasons);
        }
        for text in [
            "The smoke alarm in the flat next door has been going off for an hour",
            "楼上卫生间一直往下渗水 我家吊顶里面走的全是电线 灯也在吊顶上",
            "My head is pounding and the kids are dizzy, the heater has been on all night",
        ] {
            let t = classify(text);
            assert!(t.urgency >= Urgency::Urgent, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
        for text in [
            "洗衣机不排水 旁边插座倒是好的",
            "热水器不出热水 开关是好的",
            "手环一直响 说没电了",
            "消防演练的时候警报会响 大家别慌",
            "想问下燃气改造补贴怎么申请",
            "家里有人在抽烟 满屋子烟味 跟他说了不听",
        ] {
            let t = classify(text);
            assert!(t.urgency <= Urgency::Normal, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
    }

    /// The families broadened after round 8 (none of these is in the data files): electric
    /// shocks, water at outdoor electrical equipment, a confused elder gone out, an elder on the
    /// floor, fire with people getting out, petrol with a threat, poisoning by a water heater.
    #[test]
    fn shocks_outdoor_electricity_wandering_elders_and_accelerants_are_critical() {
        for (text, category) in [
            ("小区门口的电线杆旁边有个人摸了一下铁栏杆被电了一下", Category::Safety),
            ("My son touched the metal railing by the substation and got shocked", Category::Safety),
            ("马路边的灯杆泡在积水里 有小孩在旁边玩水", Category::Municipal),
            ("路口的信号灯控制箱被水淹了", Category::Municipal),
            ("Water is coming into the electrical room in the basement", Category::Repair),
            ("爷爷有点糊涂 下午自己出门了 到现在还没找到", Category::Care),
            ("My grandmother has dementia and wandered out this morning, not found yet", Category::Care),
            ("我妈坐在厕所地上 站不起来 我扶不动", Category::Care),
            ("Grandad is on the kitchen floor and I can't get him up", Category::Care),
            ("三楼厨房起的烟 大家都在往楼下跑", Category::Safety),
            ("Flat fire on the 3rd floor, people are getting out", Category::Safety),
            ("有人拎着一桶汽油在楼道里 说要点了", Category::Safety),
            ("去年装的燃气热水器 现在洗澡的时候一家人都头晕恶心", Category::Safety),
        ] {
            let t = classify(text);
            assert_eq!((t.urgency, t.category), (Urgency::Critical, category), "{text}: {:?}", t.reasons);
        }
        for text in ["手机充电了一下午还没满", "被电动车撞了一下 车主跑了", "停电到现在还没来", "My hands tingle when I type, is there a clinic", "奶奶有点糊涂 经常自己出门 想办个防走失手环"] {
            let t = classify(text);
            assert!(t.urgency < Urgency::Critical, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
    }

    /// The paths that used to take a present danger below urgent (none of these is in the data
    /// files): thanks or praise closing the report, a time word far from the danger, a flat
    /// phone battery beside a sounding gas alarm, an exception elsewhere in the report.
    #[test]
    fn no_filter_takes_a_present_danger_below_urgent() {
        for text in [
            "我爸在卫生间摔倒了起不来 麻烦赶快派人 非常感谢",
            "楼道里一股煤气味 点赞你们平时的宣传 但现在得赶紧来",
            "谢谢上次帮忙 我妈刚才又晕倒了",
            "之前装的那个插座 现在泡在水里了",
            "燃气报警器一直在响 我妈说头晕 我手机也快没电了",
            "隔壁独居大爷两天没应门了 门口快递堆着",
        ] {
            let t = classify(text);
            assert!(t.urgency >= Urgency::Urgent, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
        for (text, urgency) in [
            ("上次我妈摔倒多亏邻居帮忙 特别感谢", Urgency::Low),
            ("万一哪天电瓶车着火就麻烦了 建议建个集中充电棚", Urgency::Low),
            ("我爸以前中风过 想问问能不能申请护理补贴", Urgency::Normal),
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, urgency, "{text}: {:?}", t.reasons);
        }
    }

    #[test]
    fn an_averted_scam_is_not_urgent_but_one_in_progress_is() {
        assert_eq!(classify("刚才有人打电话说我女儿住院了要打钱 我直接挂了").urgency, Urgency::Normal);
        assert_eq!(classify("有人上门跟我妈说中奖了要交保证金 人现在还在屋里").urgency, Urgency::Urgent);
        assert_eq!(classify("I just paid a fake parcel refund man and now he won't answer").urgency, Urgency::Urgent);
    }

    #[test]
    fn look_alikes_of_dangers_stay_ordinary() {
        for text in [
            "燃气费怎么交 网上能交吗",
            "对门天天在楼道抽烟 一股烟味",
            "我家猫找不到了 橘色的",
            "社区电话一直打不通 反映的问题没人管",
            "电梯按钮按了没反应",
            "小区路灯坏了 晚上黑灯瞎火的",
            "小区里的健身器材坏了 孩子玩的时候差点摔了",
            "我妈血压高 想约个上门体检",
            "楼道里的灭火器过期了",
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, Urgency::Normal, "{text}: {:?}", t.reasons);
        }
    }

    /// The danger net: broad words beside a person raise a report no rule knows to urgent, and
    /// never touch an idea, thanks, an idiom or a report that says it is over.
    #[test]
    fn the_danger_net_raises_unknown_wordings_only_from_normal() {
        for text in ["儿子在楼下骑车 我下楼就没人了 问了一圈都说没看到 八岁", "neighbor is shouting he will kill his wife, i hear glass breaking"] {
            assert!(classify(text).urgency >= Urgency::Urgent, "{text}");
        }
        for (text, urgency) in [
            ("楼上每天半夜还在拖椅子 吵死人", Urgency::Normal),
            ("上次我妈摔倒多亏邻居帮忙 特别感谢", Urgency::Low),
            ("建议组织一次急救培训 教大家怎么救人", Urgency::Low),
        ] {
            assert_eq!(classify(text).urgency, urgency, "{text}: {:?}", classify(text).reasons);
        }
    }

    /// The families broadened after round 10 (none of these is in the data files): threats and
    /// intent to harm, arson and accelerants, weapons, self-harm, people in danger told by what is
    /// seen or heard, children in peril; and the look-alikes that must stay ordinary.
    #[test]
    fn threats_arson_self_harm_and_what_is_seen_or_heard_are_critical() {
        for text in [
            "楼下那个人说今晚要烧了我们这栋楼",
            "前夫在门口喊要砍死我",
            "隔壁男的喝多了扬言要报复 拎着一桶汽油",
            "有人往我家门上浇了一桶不明液体",
            "他说活着没意思 把自己关在屋里不开门",
            "我女儿发消息说不想活了 现在联系不上",
            "楼上一直有女人惨叫",
            "楼道里有人拿着枪比划",
            "My neighbour said he will burn our house down tonight",
            "He is standing on the roof edge and says he wants to die",
            "There's a red glow in the window of the empty flat next door",
            "I heard a woman screaming for help upstairs",
            "孩子一个人锁在车里 车停在太阳底下",
            "a toddler is locked in the car in the car park, it's hot",
            "楼顶上一片红光",
            "被子烧起来了",
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, Urgency::Critical, "{text}: {:?}", t.reasons);
        }
        for text in [
            "需要点时间处理 麻烦师傅明天来",
            "邻居天天炸辣椒 呛死了",
            "他家小孩天天在楼道尖叫 吵得不行",
            "给我妈点了外卖 能帮忙送上去吗",
            "燃气公司的人来查燃气 是真的吗",
            "楼下烧烤的烟飘进我家",
            "my grandpa has dementia, is there any day care center near us",
            "残疾人家里门槛太高 轮椅进不去 能不能帮忙改造一下",
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, Urgency::Normal, "{text}: {:?}", t.reasons);
        }
        assert_eq!(classify("建议小区装个监控 防止有人放火").urgency, Urgency::Low);
    }

    /// The guard (after round 11; none of these is in the data files): no path that lowers a
    /// report (a later time, a habit, an idea, praise or thanks, a conditional) takes harm to a
    /// person, a threat, fire, a weapon, or a missing, unresponsive or trapped person below
    /// urgent; and the round-11 patterns by concept: a threat for later, a weapon drawn, an
    /// alarm with nobody home, a child not home, moaning behind a locked door, a lift that dropped.
    #[test]
    fn the_guard_keeps_present_harm_at_least_urgent() {
        for text in [
            "对门那个男的说后天找几个人来捅死我 最近每天都在楼下等我",
            "前男友发消息说今晚过来弄死我",
            "He told me he would stab me tomorrow if I call the police again",
            "建议物业管一下 楼下有人拿刀追人",
            "谢谢你们上次帮忙 那个人又拎着斧头在楼道里转",
            "希望社区重视一下 隔壁天天打老婆 刚才又在打",
            "两个人在停车场吵架 其中一个亮出了匕首",
            "my daughter is 10 and she hasnt come home from school, it's 7pm",
            "楼上的报警器响了半个钟头 敲门也没人在家 还有股烧焦的味道",
            "独居的老太太屋里传来呻吟声 敲门不应",
            "电梯突然往下坠了好几层 卡住了 我妈一个人在里面",
        ] {
            let t = classify(text);
            assert!(t.urgency >= Urgency::Urgent, "{text}: {:?} {:?}", t.urgency, t.reasons);
        }
        for (text, urgency) in [
            ("建议给独居老人统一装跌倒报警器", Urgency::Low),
            ("能不能宣传一下冬天烧炭取暖容易一氧化碳中毒", Urgency::Low),
            ("物业说明天来砍树", Urgency::Normal),
            ("家里蟑螂太多了 想找人统一杀一下", Urgency::Normal),
        ] {
            let t = classify(text);
            assert_eq!(t.urgency, urgency, "{text}: {:?}", t.reasons);
        }
    }

    #[test]
    fn the_urgency_model_never_lifts_an_idea() {
        let t = classify("建议在每个单元门口都装个燃气报警器");
        assert_eq!(t.urgency, Urgency::Low);
    }

    #[test]
    fn full_width_and_case_are_normalised() {
        assert_eq!(normalise("ＧＡＳ　Leak！"), "gas leak!");
    }
}
