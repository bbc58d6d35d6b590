//! Links from API responses into Grafana: Explore on the provisioned Tempo datasource.

/// `GRAFANA_URL/explore?...` opening the trace in Tempo (datasource uid `tempo`).
pub fn trace_url(grafana_url: &str, trace_id: &str) -> String {
    let panes = format!(
        r#"{{"t":{{"datasource":"tempo","queries":[{{"refId":"A","datasource":{{"type":"tempo","uid":"tempo"}},"queryType":"traceql","query":"{trace_id}"}}],"range":{{"from":"now-1h","to":"now"}}}}}}"#
    );
    let encoded: String = url::form_urlencoded::byte_serialize(panes.as_bytes()).collect();
    format!("{}/explore?schemaVersion=1&orgId=1&panes={encoded}", grafana_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
