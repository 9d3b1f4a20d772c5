//! The capability boundary (docs/architecture.md): a capability's SQL names only the tables its
//! own migrations create. Another capability's data is read through that crate's typed
//! functions (`registry::places`, `registry::people`, …), never by naming its tables.
//!
//! The kernel's identity tables (`users`, `memberships`, `communities`) are still named by
//! capabilities in the places counted below; the count may only go down, and a crossing
//! between two capabilities is refused outright. Inside a capability, no module cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Which manifest's migrations created each table (`kernel` for the kernel's own).
fn owners() -> HashMap<String, String> {
    let mut owner = HashMap::new();
    let mut record = |who: &str, sql: &str| {
        for table in created_tables(sql) {
            owner.entry(table).or_insert_with(|| who.to_string());
        }
    };
    for m in kernel::migrations::MIGRATIONS {
        record("kernel", m.sql);
    }
    for manifest in linli::app::manifests() {
        for m in manifest.migrations {
            record(manifest.name, m.sql);
        }
    }
    owner
}

fn created_tables(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql.split(|c: char| c.is_whitespace() || c == '(').filter(|w| !w.is_empty()).collect();
    let mut out = Vec::new();
    for i in 0..words.len().saturating_sub(2) {
        if words[i].eq_ignore_ascii_case("CREATE") && words[i + 1].eq_ignore_ascii_case("TABLE") {
            let mut name = words[i + 2];
            if name.eq_ignore_ascii_case("IF") {
                name = words.get(i + 5).copied().unwrap_or_default();
            }
            out.push(name.trim_matches('"').to_string());
        }
    }
    out
}

/// The tables a piece of source names in SQL: the word after FROM, JOIN, INTO, UPDATE or TABLE.
fn named_tables(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            if matches!(pair[0], "FROM" | "JOIN" | "INTO" | "UPDATE" | "TABLE") {
                out.push(pair[1].to_string());
            }
        }
    }
    out
}

/// (capability, table) → how many times its source names the table, for tables it does not own.
fn crossings() -> BTreeMap<(String, String), usize> {
    let owner = owners();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = BTreeMap::new();
    for manifest in linli::app::manifests() {
        let files = testkit::files_under(&crates.join(manifest.name).join("src"), "rs");
        assert!(!files.is_empty(), "no source for {}", manifest.name);
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for table in named_tables(&source) {
                if let Some(o) = owner.get(&table) {
                    if o != manifest.name {
                        *found.entry((manifest.name.to_string(), table)).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    found
}

/// Where capabilities still name the kernel's tables, and how often. Lower a number when a
/// crossing goes; never raise one: read through `kernel::people` and the other kernel
/// functions instead (`cases` names none).
const KERNEL_TABLES_NAMED: &[(&str, &str, usize)] = &[
    ("accounts", "memberships", 2),
    ("accounts", "users", 10),
    ("registry", "api_keys", 2),
    ("registry", "audit_log", 1),
    ("registry", "communities", 1),
    ("registry", "memberships", 3),
    ("registry", "users", 9),
];

#[test]
fn a_capability_names_only_its_own_tables() {
    let owner = owners();
    assert!(owner.get("cases").is_some_and(|o| o == "cases") && owner.get("residents").is_some_and(|o| o == "registry"), "{owner:?}");
    let mut wrong = Vec::new();
    for ((capability, table), n) in crossings() {
        let table_owner = &owner[&table];
        if table_owner != "kernel" {
            wrong.push(format!("{capability} names {table} ({table_owner}'s) {n} times"));
            continue;
        }
        let allowed = KERNEL_TABLES_NAMED.iter().find(|(c, t, _)| *c == capability && *t == table).map_or(0, |k| k.2);
        if n > allowed {
            wrong.push(format!("{capability} names the kernel's {table} {n} times (at most {allowed})"));
        }
    }
    assert!(wrong.is_empty(), "the capability boundary is crossed:\n{}", wrong.join("\n"));
}

#[test]
fn the_boundary_check_sees_a_crossing() {
    // What the test above reads, shown on a sample: a join into another capability's table.
    let sample = r#"sqlx::query("SELECT c.id, b.name FROM cases c LEFT JOIN buildings b ON b.id = c.building_id")"#;
    assert_eq!(named_tables(sample), vec!["cases", "buildings"]);
    assert_eq!(created_tables("CREATE TABLE IF NOT EXISTS x (id INT);\nCREATE TABLE y(id INT)"), vec!["x", "y"]);
}

/// A capability's top-level modules (`src/<name>.rs` or `src/<name>/`) and, for each, the
/// others it uses (`crate::<other>` outside its tests).
fn module_uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let sources = if path.is_dir() { testkit::files_under(&path, "rs") } else { vec![path.clone()] };
        files.entry(name).or_default().extend(sources);
    }
    files
        .iter()
        .map(|(name, sources)| {
            let mut uses = BTreeSet::new();
            for file in sources {
                let text = std::fs::read_to_string(file).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                for part in code.split("crate::").skip(1) {
                    let used: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if used != *name && files.contains_key(&used) {
                        uses.insert(used);
                    }
                }
            }
            (name.clone(), uses)
        })
        .collect()
}

/// The first cycle among `uses`, as the modules around it.
fn a_cycle(uses: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(n: &str, uses: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in uses.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, uses, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    uses.keys().find_map(|n| visit(n, uses, &mut Vec::new(), &mut done))
}

/// Inside a capability the modules are layered (domain and store at the bottom, use cases above
/// them, handlers on top): no module uses one that uses it, directly or round a longer loop.
#[test]
fn no_capability_has_a_module_cycle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    for manifest in linli::app::manifests() {
        let uses = module_uses(&crates.join(manifest.name).join("src"));
        assert!(uses.len() > 2, "{}'s modules were read", manifest.name);
        if let Some(cycle) = a_cycle(&uses) {
            found.push(format!("{}: {}", manifest.name, cycle.join(" → ")));
        }
    }
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let uses: BTreeMap<String, BTreeSet<String>> = [("service", &["photos"][..]), ("photos", &["ledger"]), ("ledger", &["service"]), ("domain", &[])]
        .into_iter()
        .map(|(m, u)| (m.to_string(), u.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(a_cycle(&uses).unwrap(), ["ledger", "service", "photos", "ledger"]);
}
