//! The pre-scan: one linear pass over a page, before html5ever parses it, that refuses the
//! shapes on which html5ever's work grows faster than the page does:
//!
//! * deep nesting: for each tag, the tree builder walks the stack of open elements (scope
//!   checks, end tags looking for their start tag), so its work is tags × depth;
//! * tags with very many attributes: the tokenizer checks each new attribute name against all
//!   earlier ones of the tag, so its work is the square of their number.
//!
//! The pass is a small tokenizer that follows the HTML tokenizer's rules for tags, attributes,
//! comments and raw text (so a `<` inside a quoted value or a script is not a tag), with a model
//! of the stack of open elements that errs towards keeping elements open: an end tag pops only
//! where html5ever's would too. Each byte is visited a bounded number of times and the stack
//! walks are paid from the same work budget that bounds html5ever's, so the pass itself is
//! linear; nothing searches ahead from each `<` (that was quadratic on `<a </a ` repeated).

/// Deeper nesting than this is refused. Real pages stay far below; browsers cap their own
/// trees near here.
pub const MAX_NESTING: usize = 1024;

/// More attributes than this on one tag are refused (real tags carry a handful).
pub const MAX_ATTRIBUTES: usize = 512;

/// Stack entries the tree builder may walk over the whole page (the sum, over tags, of the
/// depth they are met at). A 5 MB page of ordinary markup stays under a tenth of it.
pub const MAX_TREE_WORK: u64 = 40_000_000;

/// Elements html5ever may re-create from open formatting elements over the whole page (the sum,
/// over tags, of the formatting elements open): `<p><b><i>…` then `<p>x` again and again makes
/// each `<p>` rebuild every one of them. Ordinary pages re-create a few hundred thousand.
pub const MAX_REBUILT_ELEMENTS: u64 = 2_000_000;

/// Why a page is refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooComplex {
    #[error("the page nests elements more than {MAX_NESTING} deep")]
    TooDeep,
    #[error("a tag of the page has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("the page's markup would take more than {MAX_TREE_WORK} tree-building steps")]
    TooMuchWork,
    #[error("the page would have html5ever re-create more than {MAX_REBUILT_ELEMENTS} formatting elements")]
    TooMuchFormatting,
}

/// What the pass saw of an accepted page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scan {
    /// The deepest the model stack got: never less than html5ever's open elements, give or
    /// take elements that close themselves (`<p>`, `<li>`, table cells).
    pub deepest: usize,
    /// Stack entries charged to the tree builder (see [`MAX_TREE_WORK`]).
    pub tree_work: u64,
    /// Formatting elements html5ever may re-create (see [`MAX_REBUILT_ELEMENTS`]).
    pub rebuilt: u64,
    /// Bytes the pass itself looked at; a test checks this stays linear in the page size.
    pub bytes_visited: u64,
}

/// Scans `html`; `Err` if html5ever should not be given it.
pub fn scan(html: &str) -> Result<Scan, TooComplex> {
    let (verdict, scan) = scan_with_stats(html);
    verdict.map(|()| scan)
}

/// The verdict, and what the pass saw up to it.
pub fn scan_with_stats(html: &str) -> (Result<(), TooComplex>, Scan) {
    let mut scanner =
        Scanner { b: html.as_bytes(), i: 0, stack: Vec::new(), formatting_open: 0, scan: Scan::default() };
    let verdict = scanner.run();
    (verdict, scanner.scan)
}

/// An open element of the model stack: where its name is in the page, and whether its
/// children are foreign (SVG/MathML) content, where `<x/>` really closes itself.
struct Open {
    name: (usize, usize),
    kind: Kind,
    foreign_children: bool,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    stack: Vec<Open>,
    /// How many entries of `stack` are formatting elements.
    formatting_open: usize,
    scan: Scan,
}

/// How a tag name behaves in the tree builder, as far as the model needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Never stays open, or closes the previous one of its kind: void elements, `<p>`, `<li>`,
    /// table parts (ignored outside a table), `html`/`head`/`body` (merged).
    NonNesting,
    /// A scope boundary: end tags of special elements do not look past it.
    Boundary,
    /// Raw text: the tokenizer reads until the matching end tag.
    RawText,
    /// SVG/MathML root.
    ForeignRoot,
    /// In foreign content, an element whose children are HTML again.
    IntegrationPoint,
    /// Other elements of HTML's "special" category: end tags of other elements do not look
    /// past them.
    Special,
    /// Formatting elements (`b`, `i`, `font`, `a`…): closed by a block, they are re-created
    /// at the next text or tag, so each open one may cost an element per tag.
    Formatting,
    Other,
}

impl Kind {
    fn of(name: &[u8]) -> Kind {
        let mut buf = [0u8; 16];
        if name.len() > buf.len() {
            return Kind::Other;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        match &*lower {
            b"area" | b"base" | b"br" | b"col" | b"embed" | b"hr" | b"img" | b"input" | b"link" | b"meta"
            | b"param" | b"source" | b"track" | b"wbr" | b"keygen" | b"basefont" | b"bgsound" | b"frame"
            | b"p" | b"li" | b"dt" | b"dd" | b"option" | b"tr" | b"td" | b"th" | b"thead" | b"tbody"
            | b"tfoot" | b"caption" | b"colgroup" | b"html" | b"head" | b"body" => Kind::NonNesting,
            b"applet" | b"marquee" | b"object" | b"table" | b"template" => Kind::Boundary,
            // noscript too: scraper parses with scripting on, as browsers do.
            b"script" | b"style" | b"textarea" | b"title" | b"xmp" | b"iframe" | b"noembed" | b"noframes"
            | b"noscript" => Kind::RawText,
            b"svg" | b"math" => Kind::ForeignRoot,
            b"a" | b"b" | b"big" | b"code" | b"em" | b"font" | b"i" | b"nobr" | b"s" | b"small"
            | b"strike" | b"strong" | b"tt" | b"u" => Kind::Formatting,
            b"foreignobject" | b"desc" | b"mi" | b"mo" | b"mn" | b"ms" | b"mtext" | b"annotation-xml" => {
                Kind::IntegrationPoint
            }
            b"address" | b"article" | b"aside" | b"blockquote" | b"button" | b"center" | b"details"
            | b"dir" | b"div" | b"dl" | b"fieldset" | b"figcaption" | b"figure" | b"footer" | b"form"
            | b"frameset" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"header" | b"hgroup"
            | b"listing" | b"main" | b"menu" | b"nav" | b"ol" | b"plaintext" | b"pre" | b"search"
            | b"section" | b"select" | b"summary" | b"ul" => Kind::Special,
            _ => Kind::Other,
        }
    }

    fn is_special(self) -> bool {
        !matches!(self, Kind::Other | Kind::Formatting | Kind::ForeignRoot)
    }
}

/// What the tokenizer tells the tree builder about a start tag, besides its name.
#[derive(Debug, Clone, Copy, Default)]
struct Tag {
    /// Ends with `/>`.
    self_closing: bool,
    /// Has a color, face or size attribute (a `<font>` with one breaks out of foreign content).
    presentational: bool,
}

/// Start tags that end foreign (SVG/MathML) content and are read as HTML again (and `<font>`
/// with a presentational attribute).
fn breaks_out_of_foreign(name: &[u8]) -> bool {
    const BREAKOUT: &[&[u8]] = &[
        b"b",
        b"big",
        b"blockquote",
        b"body",
        b"br",
        b"center",
        b"code",
        b"dd",
        b"div",
        b"dl",
        b"dt",
        b"em",
        b"embed",
        b"font",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"head",
        b"hr",
        b"i",
        b"img",
        b"li",
        b"listing",
        b"menu",
        b"meta",
        b"nobr",
        b"ol",
        b"p",
        b"pre",
        b"ruby",
        b"s",
        b"small",
        b"span",
        b"strong",
        b"strike",
        b"sub",
        b"sup",
        b"table",
        b"tt",
        b"u",
        b"ul",
        b"var",
    ];
    BREAKOUT.iter().any(|b| b.eq_ignore_ascii_case(name))
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

impl Scanner<'_> {
    fn run(&mut self) -> Result<(), TooComplex> {
        while let Some(lt) = self.find(|b| b == b'<') {
            self.i = lt + 1;
            match self.b.get(self.i) {
                Some(b'!') => self.skip_comment(),
                Some(b'?') => self.skip_past(b'>'),
                Some(b'/') if self.b.get(self.i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                    self.i += 1;
                    let name = self.name();
                    self.attributes()?;
                    self.end_tag(name)?;
                }
                // `</>` is dropped, `</` before anything else starts a bogus comment.
                Some(b'/') => self.skip_past(b'>'),
                Some(c) if c.is_ascii_alphabetic() => {
                    let name = self.name();
                    let tag = self.attributes()?;
                    self.start_tag(name, tag)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The position of the next byte from `self.i` matching `want`, counting what it looked at.
    fn find(&mut self, want: impl Fn(u8) -> bool) -> Option<usize> {
        let rest = &self.b[self.i.min(self.b.len())..];
        let offset = rest.iter().position(|&b| want(b));
        self.scan.bytes_visited += offset.map_or(rest.len(), |o| o + 1) as u64;
        offset.map(|o| self.i + o)
    }

    fn skip_past(&mut self, byte: u8) {
        self.i = self.find(|b| b == byte).map_or(self.b.len(), |at| at + 1);
    }

    /// `<!--…-->` (which also ends at `--!>`, and is empty as `<!-->` or `<!--->`), else a
    /// bogus comment or doctype up to the next `>`.
    fn skip_comment(&mut self) {
        if !self.b[self.i..].starts_with(b"!--") {
            return self.skip_past(b'>');
        }
        let start = self.i + 3;
        self.i = start;
        if self.b[start..].starts_with(b">") || self.b[start..].starts_with(b"->") {
            return self.skip_past(b'>');
        }
        while let Some(gt) = self.find(|b| b == b'>') {
            self.i = gt + 1;
            let before = &self.b[start..gt];
            if before.ends_with(b"--") || before.ends_with(b"--!") {
                return;
            }
        }
        self.i = self.b.len();
    }

    /// A tag name: up to white space, `/` or `>`.
    fn name(&mut self) -> (usize, usize) {
        let start = self.i;
        self.i = self.find(|b| is_space(b) || b == b'/' || b == b'>').unwrap_or(self.b.len());
        (start, self.i - start)
    }

    /// The attributes up to the tag's `>`, as the tokenizer reads them (quoted values may hold
    /// `>` and `<`). A tag cut off by the end of the page is dropped by the tokenizer; its
    /// attributes are still counted.
    fn attributes(&mut self) -> Result<Tag, TooComplex> {
        #[derive(Clone, Copy, PartialEq)]
        enum S {
            Before,
            Name,
            AfterName,
            BeforeValue,
            Quoted(u8),
            Unquoted,
            AfterQuoted,
            SelfClosing,
        }
        let (mut state, mut count, mut name_at) = (S::Before, 0usize, 0usize);
        let mut tag = Tag::default();
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            self.scan.bytes_visited += 1;
            if state == S::Name && (is_space(c) || matches!(c, b'=' | b'/' | b'>')) {
                let name = &self.b[name_at..self.i - 1];
                tag.presentational |=
                    [&b"color"[..], b"face", b"size"].iter().any(|p| p.eq_ignore_ascii_case(name));
            }
            state = match (state, c) {
                (S::SelfClosing, b'>') => return Ok(Tag { self_closing: true, ..tag }),
                (S::Quoted(q), c) => {
                    if c == q {
                        S::AfterQuoted
                    } else {
                        state
                    }
                }
                (_, b'>') => return Ok(tag),
                (S::Before | S::AfterQuoted | S::SelfClosing, c) if is_space(c) => S::Before,
                (S::Before | S::Name | S::AfterName | S::AfterQuoted | S::SelfClosing, b'/') => {
                    S::SelfClosing
                }
                (S::Name, c) if is_space(c) => S::AfterName,
                (S::Name | S::AfterName, b'=') => S::BeforeValue,
                (S::Name, _) => S::Name,
                (S::AfterName, c) if is_space(c) => S::AfterName,
                (S::BeforeValue, c) if is_space(c) => S::BeforeValue,
                (S::BeforeValue, q @ (b'"' | b'\'')) => S::Quoted(q),
                (S::BeforeValue, _) => S::Unquoted,
                (S::Unquoted, c) if is_space(c) => S::Before,
                (S::Unquoted, _) => S::Unquoted,
                // A new attribute name starts (after a name, a value, or a stray `/`).
                (S::Before | S::AfterName | S::AfterQuoted | S::SelfClosing, _) => {
                    count += 1;
                    if count > MAX_ATTRIBUTES {
                        return Err(TooComplex::TooManyAttributes);
                    }
                    name_at = self.i - 1;
                    S::Name
                }
            };
        }
        Ok(tag)
    }

    fn charge(&mut self) -> Result<(), TooComplex> {
        self.scan.tree_work += self.stack.len() as u64 + 1;
        if self.scan.tree_work > MAX_TREE_WORK {
            return Err(TooComplex::TooMuchWork);
        }
        self.scan.rebuilt += self.formatting_open as u64;
        if self.scan.rebuilt > MAX_REBUILT_ELEMENTS {
            return Err(TooComplex::TooMuchFormatting);
        }
        Ok(())
    }

    fn start_tag(&mut self, name: (usize, usize), tag: Tag) -> Result<(), TooComplex> {
        self.charge()?;
        let text = &self.b[name.0..name.0 + name.1];
        let (kind, self_closing) = (Kind::of(text), tag.self_closing);
        let in_foreign = self.stack.last().is_some_and(|top| top.foreign_children);
        let breaks_out =
            breaks_out_of_foreign(text) || (text.eq_ignore_ascii_case(b"font") && tag.presentational);
        if in_foreign && breaks_out {
            // html5ever pops the foreign elements and reads this tag as HTML; the model keeps
            // them (their depth still counts) but as HTML from now on, and pushes the tag (even
            // a void one): what follows is read as HTML, also once this tag is closed.
            for open in self.stack.iter_mut().rev().take_while(|open| open.foreign_children) {
                open.foreign_children = false;
            }
            return self.push(Open { name, kind, foreign_children: false });
        }
        if in_foreign {
            // Foreign content honours `<x/>`, and there no element is raw text: of the raw-text
            // names only SVG's `title` means something, an integration point (HTML children).
            // A `noscript` or `style` there is a plain foreign element.
            let integration_point = kind == Kind::IntegrationPoint || text.eq_ignore_ascii_case(b"title");
            let foreign_children = !integration_point;
            return if self_closing { Ok(()) } else { self.push(Open { name, kind, foreign_children }) };
        }
        // In HTML, `<x/>` is ignored on all but void elements (and svg/math, which are foreign).
        match kind {
            Kind::ForeignRoot if self_closing => Ok(()),
            Kind::ForeignRoot => self.push(Open { name, kind, foreign_children: true }),
            Kind::RawText => {
                self.skip_raw_text(name);
                Ok(())
            }
            Kind::NonNesting => Ok(()),
            _ => self.push(Open { name, kind, foreign_children: false }),
        }
    }

    fn push(&mut self, open: Open) -> Result<(), TooComplex> {
        self.formatting_open += usize::from(open.kind == Kind::Formatting);
        self.stack.push(open);
        self.scan.deepest = self.scan.deepest.max(self.stack.len());
        if self.stack.len() > MAX_NESTING {
            return Err(TooComplex::TooDeep);
        }
        Ok(())
    }

    /// Skips to the `</name` that ends a raw-text element (script, style, title, noscript, …).
    fn skip_raw_text(&mut self, (name_at, len): (usize, usize)) {
        while let Some(lt) = self.find(|b| b == b'<') {
            self.i = lt + 1;
            let candidate = &self.b[self.i..];
            let ends = candidate.len() > len
                && candidate[0] == b'/'
                && candidate[1..=len].eq_ignore_ascii_case(&self.b[name_at..name_at + len])
                && candidate.get(len + 1).is_none_or(|&c| is_space(c) || c == b'/' || c == b'>');
            if ends {
                self.i = lt; // the end tag itself is read by the main loop
                return;
            }
        }
        self.i = self.b.len();
    }

    /// Pops up to the matching open element, unless html5ever would stop before reaching it.
    fn end_tag(&mut self, name: (usize, usize)) -> Result<(), TooComplex> {
        self.charge()?;
        let text = &self.b[name.0..name.0 + name.1];
        let special = Kind::of(text).is_special();
        for at in (0..self.stack.len()).rev() {
            let open = &self.stack[at];
            let open_name = &self.b[open.name.0..open.name.0 + open.name.1];
            if open_name.eq_ignore_ascii_case(text) {
                if text.eq_ignore_ascii_case(b"form") {
                    // `</form>` takes the form off the stack and leaves what it contains open.
                    let form = self.stack.remove(at);
                    self.formatting_open -= usize::from(form.kind == Kind::Formatting);
                } else {
                    let closed = self.stack[at..].iter().filter(|o| o.kind == Kind::Formatting).count();
                    self.formatting_open -= closed;
                    self.stack.truncate(at);
                }
                return Ok(());
            }
            let barrier = if special { open.kind == Kind::Boundary } else { open.kind.is_special() };
            if barrier {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deepest(html: &str) -> usize {
        scan(html).unwrap().deepest
    }

    #[test]
    fn nesting_is_counted_and_closing_tags_unwind_it() {
        assert_eq!(deepest("<div><span><b>x</b></span></div><div></div>"), 3);
        assert_eq!(deepest("<div><span>a</span><span>b</span></div>"), 2);
    }

    #[test]
    fn siblings_void_and_implied_end_tags_do_not_count_as_nesting() {
        let flat = format!(
            "<ul>{}</ul>{}{}<table>{}</table>",
            "<li>item".repeat(5_000),
            "<p>para".repeat(5_000),
            "<br><img src=x/>".repeat(5_000),
            "<tr><td>a<td>b".repeat(1_000)
        );
        assert!(deepest(&flat) <= 2, "{}", deepest(&flat));
    }

    #[test]
    fn self_closing_syntax_nests_in_html_but_not_in_svg() {
        assert_eq!(deepest(&"<div/>".repeat(100)), 100, "html ignores the slash on a div");
        assert_eq!(deepest(&format!("<svg>{}</svg>", "<path d='M0 0'/>".repeat(100))), 1);
        assert_eq!(
            deepest(&format!("<svg>{}</svg>", "<div/>".repeat(100))),
            101,
            "a div breaks out of svg back into html"
        );
        assert_eq!(deepest(&format!("<svg><foreignObject>{}", "<x/>".repeat(50))), 52);
    }

    /// In SVG, `noscript` is no raw text and `title` holds HTML: what follows nests. (Found by
    /// the property test against html5ever's tree: the model read the rest as text, depth 2
    /// against html5ever's 19.)
    #[test]
    fn raw_text_names_in_svg_do_not_hide_what_follows() {
        let page = format!("<svg><noscript><title><path>{}", "<div>".repeat(15));
        assert_eq!(deepest(&page), 19);
    }

    /// A tag that breaks out of SVG ends the SVG for good, as html5ever pops it: after it
    /// closes, `<script/>` is a script again (its slash ignored, its text up to `</script>`),
    /// not an empty SVG element followed by a `<style>` that hides the rest. (Found by the
    /// property test: the model said 2.)
    #[test]
    fn once_broken_out_of_svg_the_page_stays_html() {
        let page = format!("<svg><li></li><script/><h1><style></script>{}", "<div>".repeat(10));
        assert_eq!(deepest(&page), 11);
    }

    #[test]
    fn end_tags_that_html5ever_ignores_do_not_unwind_the_model() {
        assert_eq!(deepest(&"<div></x>".repeat(50)), 50, "no x is open");
        assert_eq!(deepest(&"<span><div></span>".repeat(50)), 100, "a div stops </span>");
        assert_eq!(deepest(&"<div><table></div>".repeat(20)), 40, "a table stops </div>");
        assert_eq!(deepest("<div><span><i></div>"), 3, "</div> closes what it contains");
    }

    #[test]
    fn markup_inside_attributes_comments_and_scripts_is_not_counted() {
        let html = format!(
            "<a title='<div><div>' href=\"x>y\">a</a><!-- {} --><script>var s = '{}';</script>\
             <style>{}</style><!-->",
            "<div>".repeat(2000),
            "<div>".repeat(2000),
            "<div>".repeat(2000)
        );
        assert_eq!(deepest(&html), 1);
        assert_eq!(deepest("<!-- a --!><div><div>"), 2, "--!> also ends a comment");
        assert_eq!(deepest("<script>a</scriptx><div></script><div>"), 1);
        assert_eq!(deepest("</<script><div>"), 1, "</< starts a bogus comment, not a script");
    }

    #[test]
    fn each_limit_is_enforced() {
        assert_eq!(scan(&"<div>".repeat(MAX_NESTING + 1)), Err(TooComplex::TooDeep));
        assert!(scan(&"<div>".repeat(MAX_NESTING)).is_ok());
        let attributes = |n: usize| format!("<a {}>", (0..n).map(|i| format!("a{i} ")).collect::<String>());
        assert_eq!(scan(&attributes(MAX_ATTRIBUTES + 1)), Err(TooComplex::TooManyAttributes));
        assert!(scan(&attributes(MAX_ATTRIBUTES)).is_ok());
        let walks = format!("{}{}", "<span>".repeat(1000), "</x>".repeat(50_000));
        assert_eq!(scan(&walks), Err(TooComplex::TooMuchWork));
        let rebuilds = format!("<p>{}{}", "<b><i><u>".repeat(3), "<p>x".repeat(250_000));
        assert_eq!(scan(&rebuilds), Err(TooComplex::TooMuchFormatting));
        assert!(scan(&format!("<p><b>{}", "<p>x".repeat(250_000))).is_ok(), "one open <b> is fine");
    }

    #[test]
    fn the_pass_visits_each_byte_a_bounded_number_of_times() {
        for unit in ["<a </a ", "<", "<a", "<!--", "<a b='", "<script>", "</", "<div/>", "<x y=z "] {
            let page = unit.repeat(200_000 / unit.len());
            let visited = scan_with_stats(&page).1.bytes_visited;
            assert!(visited <= 2 * page.len() as u64, "{unit:?}: {visited} visits for {} bytes", page.len());
        }
    }
}

/// Five-megabyte pages of the shapes that hurt html5ever: each is parsed or refused. Prints
/// the time each took, a figure to read, not an assertion:
/// `cargo test --release -p skein-scraper --lib pathological -- --nocapture`.
#[cfg(test)]
mod pathological {
    use std::time::Instant;

    use url::Url;

    /// Five megabytes in an optimised build; one in a debug build, to keep `cargo test` quick.
    const SIZE: usize = if cfg!(debug_assertions) { 1 << 20 } else { 5 << 20 };

    fn fill(unit: &str) -> String {
        unit.repeat(SIZE / unit.len())
    }

    #[test]
    fn five_megabyte_pathological_pages_are_parsed_or_refused() {
        let formatting = "<b><i><u><s><em><strong><code><small><big><tt><nobr><strike><font><a>".repeat(3);
        let attributes: String = (0..SIZE / 8).map(|i| format!(" a{i:06}")).collect();
        // html5ever would compare each of these attributes with all earlier ones.
        let pages: Vec<(&str, String, bool)> = [
            ("`<a </a ` repeated (no `>`)", fill("<a </a "), false),
            ("`<div>` repeated", fill("<div>"), false),
            ("`<div/>` repeated", fill("<div/>"), false),
            ("`<span><div></span>` repeated", fill("<span><div></span>"), false),
            ("one tag, distinct attributes", format!("<a{attributes}>"), false),
            ("1000 spans, then `</x>` repeated", format!("{}{}", "<span>".repeat(1000), fill("</x>")), false),
            (
                "42 open formatting elements, then `<p>x` repeated",
                format!("<p>{formatting}{}", fill("<p>x")),
                false,
            ),
            ("`<table><td>` repeated", fill("<table><td>"), false),
            ("`<` repeated", fill("<"), true),
            ("an unclosed comment", format!("<!--{}", fill("<div>")), true),
            ("plain text", fill("word "), true),
            (
                "ordinary paragraphs with links",
                fill("<p>Some words, <a href=/x>a link</a> and <b>bold</b>.</p>\n"),
                true,
            ),
        ]
        .into_iter()
        .collect();
        let base = Url::parse("http://site.test/").unwrap();
        for (name, page, expect_ok) in pages {
            let started = Instant::now();
            let verdict = crate::extract::extract(&page, &base).map(|_| ());
            let elapsed = started.elapsed();
            println!(
                "{name:<52} {:>5} KB  {:>8.1} ms  {verdict:?}",
                page.len() >> 10,
                elapsed.as_secs_f64() * 1e3
            );
            assert_eq!(verdict.is_ok(), expect_ok, "{name}: {verdict:?}");
        }
    }
}
