//! Every figure of the analysis of real pages, pinned: the demo site's pages and 1 MB of their
//! prose, against JSON files written once from the analyzer's output. Speed work on the
//! analyzer must leave each of these byte for byte (issue 14: "same results as today").
//! `UPDATE_GOLDEN=1` rewrites the files: only for a deliberate change of the rules, reviewed
//! in the diff.

use std::path::PathBuf;

use skein_analyzer::analysis::analyze;

const PAGES: [&str; 5] =
    ["index.html", "kurz-notiert.html", "le-tracage.html", "outage-report.html", "tracing-basics.html"];

fn demo_site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/demo-site")
}

/// The page's text as the benchmark builds it: tags replaced by spaces, white space collapsed
/// (paragraph breaks kept as blank lines, so paragraphs count too).
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if in_tag => {}
            _ => text.push(c),
        }
    }
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn check(name: &str, text: &str) {
    let got = serde_json::to_string_pretty(&analyze(text)).unwrap() + "\n";
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/golden").join(format!("{name}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(got == want, "{name}: the analysis changed.\nwant:\n{want}\ngot:\n{got}");
}

#[test]
fn each_demo_page_analyses_exactly_as_pinned() {
    for page in PAGES {
        let html = std::fs::read_to_string(demo_site().join(page)).unwrap();
        check(page.trim_end_matches(".html"), &text_of(&html));
    }
}

#[test]
fn a_megabyte_of_prose_analyses_exactly_as_pinned() {
    let html = std::fs::read_to_string(demo_site().join("tracing-basics.html")).unwrap();
    let text = text_of(&html) + "\n\n";
    let mut prose = text.repeat(1_000_000 / text.len() + 1);
    let end = (0..=1_000_000).rev().find(|&i| prose.is_char_boundary(i)).unwrap();
    prose.truncate(end);
    check("prose-1mb", &prose);
}
