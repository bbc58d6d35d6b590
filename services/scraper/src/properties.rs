//! Property tests over the parts that see untrusted input: the pre-scan and extractor (any
//! page) and the guard's address classification (any address). Pure functions only: nothing
//! here opens a connection, whatever the guard answers.

use proptest::prelude::*;
use scraper::Html;
use url::Url;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::extract::extract;
use crate::guard::ranges::BLOCKED;
use crate::guard::{AllowList, blocked_reason};
use crate::prescan::{MAX_NESTING, scan, scan_with_stats};

fn config() -> ProptestConfig {
    // Bounded for CI; PROPTEST_CASES raises it for a longer hunt. No regression files in the tree.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

const NAMES: &[&str] = &[
    "div",
    "span",
    "p",
    "li",
    "ul",
    "b",
    "i",
    "a",
    "table",
    "tr",
    "td",
    "th",
    "tbody",
    "caption",
    "col",
    "colgroup",
    "svg",
    "path",
    "g",
    "foreignObject",
    "desc",
    "math",
    "mi",
    "select",
    "option",
    "optgroup",
    "button",
    "font",
    "script",
    "style",
    "title",
    "textarea",
    "template",
    "object",
    "h1",
    "h2",
    "x",
    "ruby",
    "rt",
    "form",
    "body",
    "html",
    "head",
    "dd",
    "dt",
    "dl",
    "nobr",
    "em",
    "marquee",
    "noscript",
    "iframe",
    "br",
    "img",
    "frameset",
    "section",
];

/// Tag soup: tags from a vocabulary that exercises the tree builder's special cases, with
/// attributes, self-closing slashes, comments, stray brackets and quotes.
fn token() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(NAMES);
    prop_oneof![
        4 => (name.clone(), any::<bool>(), prop_oneof![Just(""), Just(" a=\"<div>\""), Just(" color=red"), Just(" b='x>'")])
            .prop_map(|(n, slash, attr)| format!("<{n}{attr}{}>", if slash { "/" } else { "" })),
        3 => name.prop_map(|n| format!("</{n}>")),
        2 => Just("x".to_owned()),
        1 => prop_oneof![
            Just("<!--c-->"), Just("<!--"), Just("-->"), Just("<"), Just(">"), Just("'"), Just("\""),
            Just("<!doctype html>"), Just("</"), Just("<a "), Just("--!>"),
        ]
        .prop_map(str::to_owned),
    ]
}

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(token(), 0..300).prop_map(|tokens| tokens.concat())
}

/// Tags only, in HTML content: none that turns the rest of the page into text (raw text, open
/// comments) or into SVG/MathML (where `<x/>` really closes itself).
fn tags() -> impl Strategy<Value = String> {
    const TEXT_OR_FOREIGN: &[&str] =
        &["script", "style", "title", "textarea", "noscript", "iframe", "select", "frameset", "svg", "math"];
    let names = NAMES.iter().copied().filter(|n| !TEXT_OR_FOREIGN.contains(n));
    let name = proptest::sample::select(names.collect::<Vec<_>>());
    let tag = (name, any::<bool>(), any::<bool>()).prop_map(|(n, end, slash)| match (end, slash) {
        (true, _) => format!("</{n}>"),
        (false, slash) => format!("<{n}{}>", if slash { "/" } else { "" }),
    });
    proptest::collection::vec(tag, 0..100).prop_map(|tags| tags.concat())
}

/// The deepest element in html5ever's tree (the document's `html` element is depth 1).
fn dom_depth(html: &str) -> usize {
    let doc = Html::parse_document(html);
    let (mut depth, mut deepest) = (0usize, 0usize);
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) if node.value().is_element() => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ego_tree::iter::Edge::Close(node) if node.value().is_element() => depth -= 1,
            _ => {}
        }
    }
    deepest
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_prescan_stays_within_a_factor_of_html5evers_nesting(html in soup()) {
        if let Ok(scan) = scan(&html) {
            let real = dom_depth(&html);
            // A table adds a body, a row and a cell to each level the model counts; elements
            // that close their own kind (html, body, dd, option, p, a cell…) add a few once.
            prop_assert!(real <= 4 * scan.deepest + 8, "model {} vs tree {real} for {html:?}", scan.deepest);
        }
    }

    #[test]
    fn the_prescan_is_linear_on_any_input(html in soup(), noise in ".{0,200}") {
        let page = format!("{html}{noise}");
        let visited = scan_with_stats(&page).1.bytes_visited;
        prop_assert!(visited <= 2 * page.len() as u64, "{visited} visits for {} bytes", page.len());
    }

    #[test]
    fn extraction_answers_every_page_without_panicking(html in soup()) {
        let base = Url::parse("http://site.test/a/b").unwrap();
        match extract(&html, &base) {
            Ok(page) => prop_assert!(page.links.iter().all(|l| l.starts_with("http"))),
            Err(_) => prop_assert!(dom_depth(&html) > 0),
        }
    }

    #[test]
    fn deep_nesting_in_any_wrapping_is_refused(
        wrapper in proptest::sample::select(&["div", "span", "b", "x", "section", "div/", "x/", "optgroup", "rt"][..]),
        prefix in tags(),
    ) {
        let page = format!("{prefix}{}", format!("<{wrapper}>").repeat(3 * MAX_NESTING));
        prop_assert!(scan(&page).is_err(), "{wrapper} x {} was accepted", 3 * MAX_NESTING);
    }

    #[test]
    fn an_ipv4_address_is_judged_alike_in_every_ipv6_spelling(bits in any::<u32>()) {
        let v4 = Ipv4Addr::from(bits);
        let verdict = blocked_reason(IpAddr::V4(v4));
        let spellings = [
            v4.to_ipv6_mapped(),
            Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(bits)), // NAT64
            Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(bits) << 80)), // 6to4
        ];
        for v6 in spellings {
            prop_assert_eq!(blocked_reason(IpAddr::V6(v6)), verdict, "{} as {}", v4, v6);
        }
    }

    #[test]
    fn every_address_of_a_blocked_range_is_blocked(range in 0..BLOCKED.len(), host in any::<u128>()) {
        let net: IpNet = BLOCKED[range].0.parse().unwrap();
        let ip = match net {
            IpNet::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | (host as u32 & u32::from(n.hostmask())))),
            IpNet::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | (host & u128::from(n.hostmask())))),
        };
        prop_assert!(blocked_reason(ip).is_some(), "{} in {}", ip, net);
    }

    #[test]
    fn an_allow_list_of_one_loopback_address_admits_nothing_else(bits in any::<u128>(), v4 in any::<u32>()) {
        let allow: AllowList = "127.0.0.1".parse().unwrap();
        for ip in [IpAddr::V6(Ipv6Addr::from(bits)), IpAddr::V4(Ipv4Addr::from(v4))] {
            let admitted = allow.allows_ip(ip);
            let is_it = matches!(crate::guard::ranges::canonical(ip), IpAddr::V4(a) if a == Ipv4Addr::LOCALHOST);
            prop_assert_eq!(admitted, is_it, "{}", ip);
        }
    }
}
