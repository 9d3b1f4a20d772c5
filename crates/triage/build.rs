//! Gathers the labelled reports into one file and trains the shipped models from them, so the
//! binary carries models that always match the data in the tree. `data/final/` (the final test
//! set) is never read here.

#[path = "src/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "src/features.rs"]
mod features;
#[path = "src/linear.rs"]
#[allow(dead_code)]
mod linear;
#[path = "src/model.rs"]
#[allow(dead_code)]
mod model;
#[path = "src/text.rs"]
#[allow(dead_code)]
mod text;

use std::path::Path;

fn tsv_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "tsv")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn main() {
    let data = Path::new("data");
    println!("cargo:rerun-if-changed=data");
    println!("cargo:rerun-if-changed=data/voices");
    println!("cargo:rerun-if-changed=src/corpus.rs");
    println!("cargo:rerun-if-changed=src/features.rs");
    println!("cargo:rerun-if-changed=src/linear.rs");
    println!("cargo:rerun-if-changed=src/model.rs");
    println!("cargo:rerun-if-changed=src/text.rs");
    let mut gathered = String::new();
    let files = tsv_files(data).into_iter().filter(|p| p.file_name().is_some_and(|n| n != "traditional.tsv"));
    for path in files.chain(tsv_files(&data.join("voices"))) {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.strip_prefix(data).expect("under data").to_string_lossy().replace('\\', "/");
        let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        gathered.push_str(&format!("#source: {name}\n"));
        gathered.push_str(&body);
        if !body.ends_with('\n') {
            gathered.push('\n');
        }
    }
    let labelled = corpus::parse(&gathered);
    let examples: Vec<model::Example<'_>> = labelled
        .iter()
        .map(|l| model::Example { text: l.text, urgency: l.urgency, category: l.category, weight: 1.0 })
        .collect();
    let models = model::Models::train(&examples);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("corpus.tsv"), &gathered).expect("write corpus");
    std::fs::write(out.join("models.bin"), models.to_bytes()).expect("write models");
}
