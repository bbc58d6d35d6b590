//! Extraction from parsed HTML: title, metadata, readable text and links.

use std::collections::HashSet;

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use crate::prescan::TooComplex;

/// What a page says about itself, and its readable text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub title: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<String>,
    pub lang: Option<String>,
    pub text: String,
    pub links: Vec<String>,
}

/// Elements whose content is not part of the readable text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "nav", "header", "footer", "aside", "template", "svg", "iframe", "head",
    "form",
];

/// Elements that start a new paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "figure",
    "figcaption",
    "br",
    "hr",
    "address",
    "details",
    "summary",
];

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("selectors in this file are valid CSS")
}

/// `base` is the URL the page was fetched from (after redirects): relative links resolve
/// against it, or against the page's `<base href>` if it has one.
/// Pages html5ever would spend too long on are refused first (see [`crate::prescan`]).
pub fn extract(html: &str, base: &Url) -> Result<Extracted, TooComplex> {
    crate::prescan::scan(html)?;
    let doc = Html::parse_document(html);
    let meta = |css: &str| first_attr(&doc, css, "content");
    let title = first_text(&doc, "title").or_else(|| meta(r#"meta[property="og:title"]"#));
    let description =
        meta(r#"meta[name="description" i]"#).or_else(|| meta(r#"meta[property="og:description"]"#));
    let author = meta(r#"meta[name="author" i]"#)
        .or_else(|| meta(r#"meta[property="article:author"]"#))
        .or_else(|| first_text(&doc, r#"[rel="author"]"#));
    let published_at = meta(r#"meta[property="article:published_time"]"#)
        .or_else(|| first_attr(&doc, "time[datetime]", "datetime"));
    let lang = first_attr(&doc, "html[lang]", "lang");
    let base = first_attr(&doc, "base[href]", "href")
        .and_then(|href| base.join(&href).ok())
        .unwrap_or_else(|| base.clone());
    Ok(Extracted {
        title,
        description,
        author,
        published_at,
        lang,
        text: readable_text(&doc),
        links: links(&doc, &base),
    })
}

fn clean(s: &str) -> Option<String> {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

fn first_text(doc: &Html, css: &str) -> Option<String> {
    doc.select(&selector(css)).find_map(|e| clean(&e.text().collect::<String>()))
}

fn first_attr(doc: &Html, css: &str, attr: &str) -> Option<String> {
    doc.select(&selector(css)).find_map(|e| e.value().attr(attr).and_then(clean))
}

/// Text of the body without boilerplate elements, paragraphs separated by blank lines.
/// Walks the tree with an explicit edge iterator, so deeply nested markup cannot overflow
/// the stack.
fn readable_text(doc: &Html) -> String {
    let root = doc.select(&selector("body")).next().unwrap_or_else(|| doc.root_element());
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut skipping = 0usize;
    let flush = |current: &mut String, paragraphs: &mut Vec<String>| {
        if let Some(p) = clean(current) {
            paragraphs.push(p);
        }
        current.clear();
    };
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) => skipping += 1,
                Node::Element(e) if skipping == 0 && BLOCKS.contains(&e.name()) => {
                    flush(&mut current, &mut paragraphs)
                }
                Node::Text(t) if skipping == 0 => {
                    current.push_str(t);
                }
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) => skipping = skipping.saturating_sub(1),
                Node::Element(e) if skipping == 0 && BLOCKS.contains(&e.name()) => {
                    flush(&mut current, &mut paragraphs)
                }
                _ => {}
            },
        }
    }
    flush(&mut current, &mut paragraphs);
    paragraphs.join("\n\n")
}

/// Absolute http(s) links, fragments dropped, first occurrence kept.
fn links(doc: &Html, base: &Url) -> Vec<String> {
    let mut seen = HashSet::new();
    doc.select(&selector("a[href]"))
        .filter_map(|a: ElementRef<'_>| a.value().attr("href"))
        .filter_map(|href| base.join(href.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url.to_string()
        })
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html lang="en-GB"><head>
        <title>  Tracing   in Rust </title>
        <meta name="description" content="How spans travel.">
        <meta name="author" content="Ada">
        <meta property="article:published_time" content="2026-11-01T09:00:00Z">
        <style>body { color: red }</style><script>var secret = 1;</script>
      </head><body>
        <header>Site header</header><nav><a href="/home">Home</a></nav>
        <article><h1>Spans</h1><p>A span is a <b>timed</b> operation.</p><p>Spans form <a href="traces#top">traces</a>.</p></article>
        <aside>Related junk</aside><noscript>Enable JS</noscript>
        <footer>© footer <a href="https://other.example/x#y">x</a><a href="mailto:a@b">mail</a><a href="/home">again</a></footer>
      </body></html>"#;

    fn base() -> Url {
        Url::parse("https://blog.example/posts/one").unwrap()
    }

    #[test]
    fn metadata_comes_from_head_tags() {
        let e = extract(PAGE, &base()).unwrap();
        assert_eq!(e.title.as_deref(), Some("Tracing in Rust"));
        assert_eq!(e.description.as_deref(), Some("How spans travel."));
        assert_eq!(e.author.as_deref(), Some("Ada"));
        assert_eq!(e.published_at.as_deref(), Some("2026-11-01T09:00:00Z"));
        assert_eq!(e.lang.as_deref(), Some("en-GB"));
    }

    #[test]
    fn readable_text_keeps_content_and_drops_boilerplate() {
        let e = extract(PAGE, &base()).unwrap();
        assert_eq!(e.text, "Spans\n\nA span is a timed operation.\n\nSpans form traces.");
        for junk in ["secret", "color", "Site header", "Home", "Related junk", "Enable JS", "footer"] {
            assert!(!e.text.contains(junk), "{junk} leaked into {:?}", e.text);
        }
    }

    #[test]
    fn links_are_absolute_unique_and_http_only() {
        let e = extract(PAGE, &base()).unwrap();
        assert_eq!(
            e.links,
            ["https://blog.example/home", "https://blog.example/posts/traces", "https://other.example/x"]
        );
    }

    #[test]
    fn og_tags_and_time_elements_are_fallbacks() {
        let html = r#"<html><head><meta property="og:title" content="OG title">
            <meta property="og:description" content="OG desc"></head>
            <body><time datetime="2025-01-02">Jan 2</time><base href="https://cdn.example/"><a href="a">a</a></body></html>"#;
        let e = extract(html, &base()).unwrap();
        assert_eq!(e.title.as_deref(), Some("OG title"));
        assert_eq!(e.description.as_deref(), Some("OG desc"));
        assert_eq!(e.published_at.as_deref(), Some("2025-01-02"));
        assert_eq!(e.links, ["https://cdn.example/a"], "<base href> wins");
    }

    #[test]
    fn deep_but_sane_nesting_is_walked_without_recursion() {
        let html = format!("<body>{}deep{}</body>", "<div><span>".repeat(500), "</span></div>".repeat(500));
        assert_eq!(extract(&html, &base()).unwrap().text, "deep");
    }

    #[test]
    fn pathological_nesting_is_refused_before_parsing() {
        let html = format!("<body>{}deep{}</body>", "<div>".repeat(50_000), "</div>".repeat(50_000));
        assert_eq!(extract(&html, &base()), Err(TooComplex::TooDeep));
    }
}
