//! The error table against the workspace's sources and the README: every code is emitted by
//! some service (or reserved, with the reason), and the README shows the table as it is.

use std::path::{Path, PathBuf};

use crate::ErrorCode;

/// Codes in the table that no code path sends today, each with why it stays.
const RESERVED: &[(ErrorCode, &str)] = &[];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("pkg-api sits in the workspace").to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code that runs in a service: `src/` of the services, pkg-service and pkg-api, without
/// test modules, the table itself, and the route tables and document helpers (they list the
/// codes an operation may answer, which is documentation, not emission).
fn emitting_sources() -> Vec<(PathBuf, String)> {
    let root = workspace();
    let mut files = Vec::new();
    for dir in [
        "services/controller/src",
        "services/scraper/src",
        "services/analyzer/src",
        "services/scheduler/src",
        "pkg-service/src",
        "pkg-api/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .filter(|f| !["error_code.rs", "error_code_coverage.rs", "openapi.rs"].iter().any(|n| f.ends_with(n)))
        .map(|f| {
            let text = std::fs::read_to_string(&f).expect("a readable source");
            (f, without_tables_and_tests(&text))
        })
        .collect()
}

/// Drops comments, `#[cfg(test)]` modules and `fn route_table` bodies (each ends at a `}` in
/// column 0).
fn without_tables_and_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line == "#[cfg(test)]" || line.contains("fn route_table(") {
            skipping = true;
        }
        if !skipping && !line.trim_start().starts_with("//") {
            kept.push_str(line);
            kept.push('\n');
        } else if line == "}" {
            skipping = false;
        }
    }
    kept
}

#[test]
fn every_code_in_the_table_is_emitted_somewhere_or_reserved() {
    let sources = emitting_sources();
    assert!(sources.len() > 40, "the scan found the workspace's sources ({} files)", sources.len());
    let mut unreachable = Vec::new();
    for code in ErrorCode::ALL {
        let needle = format!("ErrorCode::{}", code.variant_name());
        let used = sources.iter().any(|(_, text)| {
            text.match_indices(&needle).any(|(at, _)| {
                !text[at + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        });
        let reserved = RESERVED.iter().any(|(r, _)| r == code);
        assert!(!(used && reserved), "{code} is emitted: take it off RESERVED");
        if !used && !reserved {
            unreachable.push(code.as_str());
        }
    }
    assert!(
        unreachable.is_empty(),
        "no code path sends {unreachable:?}: remove them or reserve them with a reason"
    );
}

#[test]
fn no_source_names_an_error_code_outside_the_table() {
    // ApiError only takes an ErrorCode, so the compiler keeps codes in the table; what it cannot
    // see are hand-written error bodies. The one allowed is pkg-tracing's panic body, which a
    // test in `error.rs` holds equal to `ApiError::internal()`.
    for (file, text) in emitting_sources() {
        for (at, _) in text.match_indices("\"code\"") {
            let Some(rest) = text[at..].strip_prefix("\"code\": \"") else { continue };
            let code: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(
                ErrorCode::from_code(&code).is_some(),
                "{}: error code {code:?} is not in the table",
                file.display()
            );
        }
    }
}

#[test]
fn the_readme_shows_the_table_as_it_is() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let (start, end) = ("<!-- error-codes:start -->\n", "<!-- error-codes:end -->");
    let from = readme.find(start).expect("the README has the error-code table markers") + start.len();
    let to = readme[from..].find(end).expect("the end marker") + from;
    assert_eq!(
        &readme[from..to],
        ErrorCode::markdown_table(),
        "README.md's error table is stale: paste ErrorCode::markdown_table() between the markers"
    );
}
