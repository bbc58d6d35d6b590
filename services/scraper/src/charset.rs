//! Turning a page's bytes into text in the encoding it declares.

use encoding_rs::{Encoding, UTF_8};

/// How far into the document a `<meta charset>` is looked for (the HTML standard says 1024).
const META_SNIFF_BYTES: usize = 1024;

/// Decodes `body` using, in order: a byte-order mark, the `charset` of the Content-Type
/// header, a `<meta charset>` / `http-equiv` declaration, else UTF-8. Undecodable bytes and
/// unknown labels degrade to U+FFFD / UTF-8 rather than failing the page.
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let declared = content_type.and_then(charset_param).or_else(|| meta_charset(body));
    let encoding = declared.and_then(|label| Encoding::for_label(label.as_bytes())).unwrap_or(UTF_8);
    let (text, used, _had_errors) = encoding.decode(body);
    (text.into_owned(), used)
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches(['"', '\'']).to_owned())
    })
}

fn meta_charset(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(META_SNIFF_BYTES)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_charset_decodes_legacy_pages() {
        let (text, enc) = decode(b"caf\xe9", Some("text/html; charset=ISO-8859-1"));
        assert_eq!(text, "café");
        assert_eq!(enc.name(), "windows-1252");
    }

    #[test]
    fn a_meta_charset_is_used_when_the_header_has_none() {
        let page = b"<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body>";
        assert!(decode(page, Some("text/html")).0.contains("Привет"));
        let equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-15\">\xa4";
        assert!(decode(equiv, None).0.ends_with('€'));
    }

    #[test]
    fn unknown_labels_and_bad_bytes_fall_back_without_failing() {
        let (text, enc) = decode(b"ok \xff", Some("text/html; charset=klingon"));
        assert_eq!(enc.name(), "UTF-8");
        assert_eq!(text, "ok \u{fffd}");
    }
}
