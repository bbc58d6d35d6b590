//! Links from API responses into Grafana: Explore on the provisioned Tempo datasource.

use std::sync::LazyLock;

use serde_json::value::RawValue;

/// Stands in for the trace id in the template: letters only, so URL encoding leaves it as is.
const PLACEHOLDER: &str = "TRACEID";

/// The `panes` value, URL-encoded once, split around the trace id: every stored document and
/// job carries a link, and encoding the same JSON for each of them was ~5 k instructions a
/// response.
static PANES: LazyLock<(String, String)> = LazyLock::new(|| {
    let encoded = encode(&panes(PLACEHOLDER));
    let (before, after) = encoded.split_once(PLACEHOLDER).expect("the placeholder survives encoding");
    (before.to_owned(), after.to_owned())
});

fn panes(trace_id: &str) -> String {
    format!(
        r#"{{"t":{{"datasource":"tempo","queries":[{{"refId":"A","datasource":{{"type":"tempo","uid":"tempo"}},"queryType":"traceql","query":"{trace_id}"}}],"range":{{"from":"now-1h","to":"now"}}}}}}"#
    )
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GRAFANA_URL/explore?...` opening the trace in Tempo (datasource uid `tempo`).
pub fn trace_url(grafana_url: &str, trace_id: &str) -> String {
    let grafana_url = grafana_url.trim_end_matches('/');
    match link_pieces(grafana_url, trace_id) {
        Some(pieces) => pieces.concat(),
        // Anything but a hex trace id is escaped for both JSON and the URL, the slow way.
        None => {
            let quoted = serde_json::to_string(trace_id).unwrap_or_default();
            let escaped = &quoted[1..quoted.len() - 1];
            format!("{grafana_url}{EXPLORE}{}", encode(&panes(escaped)))
        }
    }
}

/// The link in pieces, for a trace id that JSON and URL encoding leave alone (hex, as every
/// trace id is): the panes template is encoded once, not per link.
fn link_pieces<'a>(grafana_url: &'a str, trace_id: &'a str) -> Option<[&'a str; 5]> {
    if !trace_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (before, after) = &*PANES;
    Some([grafana_url, EXPLORE, before, trace_id, after])
}

/// [`trace_url`] as a JSON string, ready to be written into a response as it is. The link is
/// ~380 bytes that serde_json would check for escapes byte by byte in every response that
/// carries one (~4 k instructions a scrape, the largest single cost tracing added to the
/// controller); its parts are known not to need any, so it is quoted here and only checked
/// (which serde_json does eight bytes at a time).
pub fn trace_url_json(grafana_url: &str, trace_id: &str) -> Box<RawValue> {
    let grafana = grafana_url.trim_end_matches('/');
    let plain = |text: &str| text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain(grafana)
        && let Some([url, explore, before, id, after]) = link_pieces(grafana, trace_id)
        && let Ok(json) = RawValue::from_string(["\"", url, explore, before, id, after, "\""].concat())
    {
        return json;
    }
    serde_json::value::to_raw_value(&trace_url(grafana_url, trace_id)).expect("a string always serializes")
}

/// What comes between the Grafana URL and the `panes` value.
const EXPLORE: &str = "/explore?schemaVersion=1&orgId=1&panes=";

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted link is the JSON serde_json writes for it, for plain and odd Grafana URLs and
    /// trace ids alike.
    #[test]
    fn the_link_as_json_is_the_link_serialized() {
        for grafana in
            ["http://localhost:3000/", "http://g\"quoted\\", "http://grafana.example:3000/sub/päth"]
        {
            for id in ["4bf92f3577b34da6a3ce929d0e0e4736", "x\"y"] {
                let json = trace_url_json(grafana, id);
                assert_eq!(
                    json.get(),
                    serde_json::to_string(&trace_url(grafana, id)).unwrap(),
                    "{grafana} {id}"
                );
            }
        }
    }

    #[test]
    fn the_link_names_the_tempo_datasource_and_the_trace() {
        let link = trace_url("http://localhost:3000/", "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(link.starts_with("http://localhost:3000/explore?schemaVersion=1&orgId=1&panes="));
        let panes =
            url::Url::parse(&link).unwrap().query_pairs().find(|(k, _)| k == "panes").unwrap().1.into_owned();
        let json: serde_json::Value = serde_json::from_str(&panes).unwrap();
        assert_eq!(json["t"]["queries"][0]["query"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(json["t"]["datasource"], "tempo");
    }

    #[test]
    fn the_precomputed_link_is_the_link_encoded_in_full() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let in_full = format!("http://g/explore?schemaVersion=1&orgId=1&panes={}", encode(&panes(id)));
        assert_eq!(trace_url("http://g", id), in_full);
        // Not hex (never stored, but the function must not build a broken URL from it).
        let odd = "a\"b&c";
        let link = trace_url("http://g", odd);
        let panes =
            url::Url::parse(&link).unwrap().query_pairs().find(|(k, _)| k == "panes").unwrap().1.into_owned();
        let json: serde_json::Value = serde_json::from_str(&panes).unwrap();
        assert_eq!(json["t"]["queries"][0]["query"], odd);
    }
}
