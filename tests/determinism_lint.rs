//! Hidden nondeterminism that clippy cannot see, banned by a test instead of by memory.
//!
//! An unbiased `tokio::select!` picks its first branch with tokio's thread RNG, whose seed
//! comes from a process-wide counter: a seed's run then depends on what ran before it in the
//! same process (a sweep, the determinism check's second run), and its trace hash changes by
//! a few task polls. One such select (`broker_lifecycle.rs`) made `power-loss-fsync` seeds 5
//! and 59 fail `--check-determinism` inside a sweep while passing alone.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // reads the source tree

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `tokio::select!` calls (file:line) whose first statement is not `biased;`; comments
/// between the macro and `biased;` are allowed.
fn unbiased_selects(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["src", "sim/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source readable");
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !code.contains("tokio::select!") {
                continue;
            }
            let first = lines[index + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty() && !l.starts_with("//"));
            if first != Some("biased;") {
                found.push(format!("{}:{}", file.strip_prefix(root).unwrap_or(&file).display(), index + 1));
            }
        }
    }
    found
}

#[test]
fn every_select_is_biased() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unbiased = unbiased_selects(root);
    assert!(unbiased.is_empty(), "tokio::select! without `biased;` (polls in a process-random order): {unbiased:?}");
}

/// The lint fires: a select without `biased;` is found.
#[test]
fn the_lint_finds_an_unbiased_select() {
    let dir = std::env::temp_dir().join(format!("seedlog-select-lint-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("sim/src")).unwrap();
    std::fs::write(dir.join("src/a.rs"), "tokio::select! {\n    // why\n    biased;\n    _ = a => {}\n}\n").unwrap();
    std::fs::write(dir.join("sim/src/b.rs"), "fn f() {\n    tokio::select! {\n        _ = a => {}\n    }\n}\n")
        .unwrap();
    let found = unbiased_selects(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, vec!["sim/src/b.rs:2".to_string()]);
}
