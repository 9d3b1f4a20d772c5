//! The labelled reports the shipped models learn from, and the kinds of writer they come from.
//! The build script gathers `data/*.tsv` and `data/voices/*.tsv` into one file (see `build.rs`);
//! `data/final/` is never part of it. Shared with the build script.

/// Urgency codes in class order (lowest first).
pub const URGENCIES: [&str; 4] = ["low", "normal", "urgent", "critical"];
/// Category codes in class order.
pub const CATEGORIES: [&str; 9] =
    ["repair", "municipal", "sanitation", "safety", "living", "care", "dispute", "consult", "suggestion"];

/// One labelled report, by class index.
#[derive(Debug, Clone)]
pub struct Labelled<'a> {
    /// Index into [`URGENCIES`].
    pub urgency: usize,
    /// Index into [`CATEGORIES`].
    pub category: usize,
    /// The report.
    pub text: &'a str,
    /// The file it comes from.
    pub source: &'a str,
    /// The kind of writer: the file's name for `voices/`, `project` for the files written in
    /// the project's own voice.
    pub kind: &'a str,
}

/// Parses one `urgency<TAB>category<TAB>text` line; comments and blank lines give `None`.
pub fn parse_line(line: &str) -> Option<(usize, usize, &str)> {
    if line.trim().is_empty() || line.starts_with('#') {
        return None;
    }
    let mut cols = line.splitn(3, '\t');
    let (u, c) = (cols.next()?.trim(), cols.next()?.trim());
    let urgency = URGENCIES.iter().position(|x| *x == u)?;
    let category = CATEGORIES.iter().position(|x| *x == c)?;
    let text = cols.next()?.trim();
    (!text.is_empty()).then_some((urgency, category, text))
}

/// Reads the gathered corpus: `#source: <file>` lines start each file.
pub fn parse(corpus: &str) -> Vec<Labelled<'_>> {
    let mut out = Vec::new();
    let mut source = "";
    for line in corpus.lines() {
        if let Some(s) = line.strip_prefix("#source: ") {
            source = s.trim();
            continue;
        }
        if let Some((urgency, category, text)) = parse_line(line) {
            out.push(Labelled { urgency, category, text, source, kind: kind_of(source) });
        }
    }
    out
}

/// The kind of writer of a file.
pub fn kind_of(source: &str) -> &str {
    match source.strip_prefix("voices/") {
        Some(file) => file.strip_suffix(".tsv").unwrap_or(file),
        None => "project",
    }
}
