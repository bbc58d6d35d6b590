//! A strict parser of the OpenMetrics 1.0 text format, for tests: a scrape must parse as a
//! whole (metadata before samples, sample names that fit their family's type, `# EOF` last),
//! histograms must be cumulative with `+Inf` equal to `_count`, and exemplars may sit only on
//! counters' `_total` and histograms' `_bucket` samples, inside their bucket, at most 128
//! characters of labels.

use std::collections::{BTreeMap, HashMap};

pub type Labels = BTreeMap<String, String>;

/// A parsed scrape.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub families: Vec<MetricFamily>,
}

#[derive(Debug, Clone)]
pub struct MetricFamily {
    pub name: String,
    /// `counter`, `gauge`, `histogram`, … (`unknown` without a `# TYPE`).
    pub kind: String,
    pub help: Option<String>,
    pub unit: Option<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
    pub timestamp: Option<f64>,
    pub exemplar: Option<Exemplar>,
}

#[derive(Debug, Clone)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    pub timestamp: Option<f64>,
}

impl Exposition {
    pub fn family(&self, name: &str) -> Option<&MetricFamily> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The value of the sample named `name` whose labels include every pair of `labels`; the
    /// sum if several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .families
            .iter()
            .flat_map(|f| &f.samples)
            .filter(|s| {
                s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| s.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Every exemplar of family `name`, with the sample it is attached to.
    pub fn exemplars(&self, name: &str) -> Vec<(&Sample, &Exemplar)> {
        self.family(name)
            .map(|f| f.samples.iter().filter_map(|s| s.exemplar.as_ref().map(|e| (s, e))).collect())
            .unwrap_or_default()
    }
}

/// Parses and validates a whole exposition.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .or_else(|| text.strip_suffix("# EOF"))
        .ok_or("the exposition does not end with `# EOF`")?;
    let mut out = Exposition::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, line) in body.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (Some(keyword), Some(name)) = (parts.next(), parts.next()) else {
                return Err(at("bad metadata".into()));
            };
            check_metric_name(name).map_err(at)?;
            let value = parts.next().unwrap_or("").to_owned();
            let index = family_index(&mut out, &mut seen, name).map_err(at)?;
            let family = &mut out.families[index];
            if !family.samples.is_empty() {
                return Err(at("metadata after the family's samples".into()));
            }
            match keyword {
                "TYPE" => {
                    const TYPES: [&str; 8] = [
                        "counter",
                        "gauge",
                        "histogram",
                        "gaugehistogram",
                        "stateset",
                        "info",
                        "summary",
                        "unknown",
                    ];
                    if !TYPES.contains(&value.as_str()) {
                        return Err(at(format!("unknown type {value:?}")));
                    }
                    family.kind = value;
                }
                "HELP" => family.help = Some(unescape(&value, false).map_err(at)?),
                "UNIT" => family.unit = Some(value),
                other => return Err(at(format!("unknown metadata keyword {other:?}"))),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(at("a comment that is no metadata".into()));
        }
        let sample = parse_sample(line).map_err(at)?;
        let family_name = out
            .families
            .last()
            .filter(|f| sample_fits(&f.kind, &f.name, &sample.name))
            .map(|f| f.name.clone())
            // Families without metadata are legal OpenMetrics, but no registry of ours
            // writes one: a sample that fits no `# TYPE` above it is a bug.
            .ok_or_else(|| at(format!("sample {} does not belong to the current family", sample.name)))?;
        let index = family_index(&mut out, &mut seen, &family_name).map_err(at)?;
        let family = &mut out.families[index];
        if let Some(exemplar) = &sample.exemplar {
            let allowed = (family.kind == "counter" && sample.name.ends_with("_total"))
                || (family.kind == "histogram" && sample.name.ends_with("_bucket"));
            if !allowed {
                return Err(at("an exemplar where OpenMetrics allows none".into()));
            }
            let size: usize =
                exemplar.labels.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum();
            if size > 128 {
                return Err(at(format!("exemplar labels of {size} characters (at most 128)")));
            }
        }
        if family.kind == "counter" && (sample.value.is_nan() || sample.value < 0.0) {
            return Err(at("a negative counter".into()));
        }
        family.samples.push(sample);
    }
    for family in &out.families {
        if family.kind == "histogram" {
            check_histogram(family)?;
        }
    }
    Ok(out)
}

/// The index of family `name`, created if new; a family met again after another one is an
/// error (OpenMetrics families are contiguous).
fn family_index(
    out: &mut Exposition,
    seen: &mut HashMap<String, usize>,
    name: &str,
) -> Result<usize, String> {
    if let Some(&index) = seen.get(name) {
        if index + 1 != out.families.len() {
            return Err(format!("family {name} is interleaved with another"));
        }
        return Ok(index);
    }
    out.families.push(MetricFamily {
        name: name.to_owned(),
        kind: "unknown".to_owned(),
        help: None,
        unit: None,
        samples: Vec::new(),
    });
    seen.insert(name.to_owned(), out.families.len() - 1);
    Ok(out.families.len() - 1)
}

fn sample_fits(kind: &str, family: &str, sample: &str) -> bool {
    let Some(suffix) = sample.strip_prefix(family) else { return false };
    let allowed: &[&str] = match kind {
        "counter" => &["_total", "_created"],
        "histogram" | "gaugehistogram" => &["_bucket", "_count", "_sum", "_created", "_gcount", "_gsum"],
        "summary" => &["", "_count", "_sum", "_created"],
        "info" => &["_info"],
        _ => &[""],
    };
    allowed.contains(&suffix)
}

/// Buckets ascending by `le`, counts cumulative, `+Inf` last and equal to `_count`, each
/// exemplar inside its bucket.
fn check_histogram(family: &MetricFamily) -> Result<(), String> {
    let mut series: BTreeMap<Vec<(String, String)>, Vec<&Sample>> = BTreeMap::new();
    for sample in &family.samples {
        let key: Vec<_> = sample
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "le")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        series.entry(key).or_default().push(sample);
    }
    for (labels, samples) in series {
        let name = &family.name;
        let buckets: Vec<&&Sample> = samples.iter().filter(|s| s.name.ends_with("_bucket")).collect();
        let mut previous = (f64::NEG_INFINITY, 0.0);
        for bucket in &buckets {
            let le =
                bucket.labels.get("le").ok_or_else(|| format!("{name}{labels:?}: a bucket without le"))?;
            let le = parse_float(le)?;
            if le <= previous.0 {
                return Err(format!("{name}{labels:?}: buckets not in ascending order at le={le}"));
            }
            if bucket.value < previous.1 {
                return Err(format!(
                    "{name}{labels:?}: bucket le={le} holds {} < {} below it: not cumulative",
                    bucket.value, previous.1
                ));
            }
            if let Some(e) = &bucket.exemplar
                && !(e.value > previous.0 && e.value <= le)
            {
                return Err(format!(
                    "{name}{labels:?}: exemplar {} outside its bucket ({}, {le}]",
                    e.value, previous.0
                ));
            }
            previous = (le, bucket.value);
        }
        if previous.0 != f64::INFINITY {
            return Err(format!("{name}{labels:?}: no +Inf bucket"));
        }
        let count = samples.iter().find(|s| s.name.ends_with("_count")).map(|s| s.value);
        if count != Some(previous.1) {
            return Err(format!(
                "{name}{labels:?}: _count {count:?} differs from the +Inf bucket {}",
                previous.1
            ));
        }
    }
    Ok(())
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if rest.starts_with('{') {
        let (parsed, after) = parse_labels(rest)?;
        labels = parsed;
        rest = after;
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let (values, exemplar) = match rest.split_once(" # ") {
        Some((values, exemplar)) => (values, Some(exemplar)),
        None => (rest, None),
    };
    let mut fields = values.split(' ');
    let value = parse_float(fields.next().ok_or("no value")?)?;
    let timestamp = fields.next().map(parse_float).transpose()?;
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    let exemplar = exemplar.map(parse_exemplar).transpose()?;
    Ok(Sample { name: name.to_owned(), labels, value, timestamp, exemplar })
}

fn parse_exemplar(text: &str) -> Result<Exemplar, String> {
    if !text.starts_with('{') {
        return Err("an exemplar without labels".into());
    }
    let (labels, rest) = parse_labels(text)?;
    let rest = rest.strip_prefix(' ').ok_or("no exemplar value")?;
    let mut fields = rest.split(' ');
    let value = parse_float(fields.next().ok_or("no exemplar value")?)?;
    let timestamp = fields.next().map(parse_float).transpose()?;
    if fields.next().is_some() {
        return Err("trailing exemplar fields".into());
    }
    Ok(Exemplar { labels, value, timestamp })
}

/// `{a="x",b="y"}` at the start of `text`; returns the labels and what follows.
fn parse_labels(text: &str) -> Result<(Labels, &str), String> {
    let mut labels = Labels::new();
    let mut rest = text.strip_prefix('{').ok_or("no label set")?;
    if let Some(after) = rest.strip_prefix('}') {
        return Ok((labels, after));
    }
    loop {
        let eq = rest.find('=').ok_or("a label without =")?;
        let key = &rest[..eq];
        if key.is_empty()
            || !key
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
        {
            return Err(format!("bad label name {key:?}"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("a label value without quotes")?;
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("an unterminated label value")?;
        let value = unescape(&rest[..end], true)?;
        if labels.insert(key.to_owned(), value).is_some() {
            return Err(format!("label {key} twice"));
        }
        rest = &rest[end + 1..];
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        rest = rest.strip_prefix(',').ok_or("labels not separated by commas")?;
    }
}

fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') => out.push('"'),
                other => return Err(format!("bad escape \\{other:?}")),
            },
            '"' if quotes => return Err("an unescaped quote".into()),
            '\n' => return Err("a raw line break".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if ok { Ok(()) } else { Err(format!("bad metric name {name:?}")) }
}

fn parse_float(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("bad number {text:?}")),
    }
}

/// GETs `{base}/metrics` and parses it; panics naming what is wrong: not 200, not the
/// OpenMetrics media type, traced (a `traceresponse` header), or not valid OpenMetrics.
pub async fn scrape(base: &str) -> Exposition {
    let mut response = awc::Client::new()
        .get(format!("{base}/metrics"))
        .insert_header(("accept", "application/openmetrics-text; version=1.0.0"))
        .send()
        .await
        .expect("/metrics answers");
    let body = response.body().limit(16 << 20).await.expect("a /metrics body");
    let text = String::from_utf8(body.to_vec()).expect("/metrics is UTF-8");
    assert_eq!(response.status().as_u16(), 200, "{text}");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    assert!(response.headers().get(crate::TRACERESPONSE_HEADER).is_none(), "the scrape was traced");
    parse(&text).unwrap_or_else(|e| panic!("/metrics is not valid OpenMetrics: {e}\n{text}"))
}

/// The trace id of a response's `traceresponse` header.
pub fn traceresponse_trace_id(headers: &actix_http::header::HeaderMap) -> String {
    headers
        .get(crate::TRACERESPONSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .expect("a traceresponse header")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# HELP h Request time.\n# TYPE h histogram\n\
        h_sum{r=\"/a\"} 0.3\nh_count{r=\"/a\"} 2\n\
        h_bucket{le=\"0.1\",r=\"/a\"} 1 # {trace_id=\"ab\"} 0.05 1700000000.5\n\
        h_bucket{le=\"+Inf\",r=\"/a\"} 2\n\
        # TYPE c counter\nc_total{k=\"a \\\"q\\\" b\"} 3\n# EOF\n";

    #[test]
    fn a_valid_exposition_parses_with_its_exemplars() {
        let parsed = parse(GOOD).unwrap();
        assert_eq!(parsed.families.len(), 2);
        assert_eq!(parsed.value("h_count", &[("r", "/a")]), Some(2.0));
        assert_eq!(parsed.value("c_total", &[("k", "a \"q\" b")]), Some(3.0));
        let exemplars = parsed.exemplars("h");
        assert_eq!(exemplars.len(), 1);
        assert_eq!(exemplars[0].1.labels["trace_id"], "ab");
        assert_eq!(exemplars[0].1.timestamp, Some(1_700_000_000.5));
    }

    #[test]
    fn broken_expositions_are_refused() {
        let cases = [
            (GOOD.replace("# EOF\n", ""), "EOF"),
            (
                GOOD.replace("h_bucket{le=\"+Inf\",r=\"/a\"} 2", "h_bucket{le=\"+Inf\",r=\"/a\"} 0"),
                "not cumulative",
            ),
            (GOOD.replace("h_count{r=\"/a\"} 2", "h_count{r=\"/a\"} 3"), "_count"),
            (GOOD.replace("0.05 1700000000.5", "0.5"), "outside its bucket"),
            (
                GOOD.replace("c_total{k=\"a \\\"q\\\" b\"} 3", "c_total{k=\"a\"} 3 # {x=\"y\"}"),
                "no exemplar value",
            ),
            (GOOD.replace("# TYPE c counter\n", "# TYPE c gauge\n"), "does not belong"),
            ("# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n".to_owned(), "allows none"),
            ("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n# EOF\n".to_owned(), "interleaved"),
            ("# TYPE a gauge\na{x=\"1\"\"} 1\n# EOF\n".to_owned(), "commas"),
        ];
        for (text, why) in cases {
            let error = parse(&text).expect_err(why);
            assert!(error.contains(why), "{why}: {error}");
        }
    }
}
