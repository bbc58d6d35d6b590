//! Keywords by term frequency, key phrases by RAKE, and tags from the keywords.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use pkg_api::{KeyPhrase, Keyword};

use super::document::Document;

/// Stop words of the text's language plus English (pages mix in English navigation and
/// boilerplate), compared in lower case.
pub struct StopWords(foldhash::HashSet<&'static str>);

impl StopWords {
    pub fn for_language(code: &str) -> Self {
        let mut set: foldhash::HashSet<&'static str> =
            stop_words::lookup("en").unwrap_or_default().iter().copied().collect();
        if code != "en"
            && let Some(words) = stop_words::lookup(code)
        {
            set.extend(words.iter().copied());
        }
        StopWords(set)
    }

    fn contains(&self, lower: &str) -> bool {
        self.0.contains(lower)
    }

    /// A content word: not a stop word, not a number, at least three characters.
    pub fn is_content(&self, lower: &str) -> bool {
        lower.chars().nth(2).is_some() && !lower.chars().all(char::is_numeric) && !self.contains(lower)
    }

    /// [`Self::is_content`] for every word, in order.
    pub fn content_mask(&self, lower: &[Cow<'_, str>]) -> Vec<bool> {
        lower.iter().map(|w| self.is_content(w)).collect()
    }
}

/// How often each distinct (lower-cased) word occurs: the one hash pass over all words that
/// keywords and the quality score's vocabulary size share.
pub fn word_counts<'w>(lower: &'w [Cow<'_, str>]) -> foldhash::HashMap<&'w str, usize> {
    let mut counts: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    for word in lower {
        *counts.entry(word.as_ref()).or_default() += 1;
    }
    counts
}

/// The `limit` most frequent content terms; ties broken alphabetically so output is stable.
/// Whether a word is content is decided once per distinct word, not per occurrence.
pub fn keywords(counts: &foldhash::HashMap<&str, usize>, stop: &StopWords, limit: usize) -> Vec<Keyword> {
    let mut ranked: Vec<(&str, usize)> =
        counts.iter().filter(|(word, _)| stop.is_content(word)).map(|(w, c)| (*w, *c)).collect();
    let total: usize = ranked.iter().map(|(_, c)| c).sum();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(term, count)| Keyword {
            term: term.to_owned(),
            count,
            score: round3(count as f64 / total as f64),
        })
        .collect()
}

/// RAKE (Rose et al., 2010): candidate phrases are runs of content words between stop words
/// and punctuation; a word scores degree ÷ frequency; a phrase the sum of its words. Phrases
/// of two to four words only: one word is a keyword, five are a sentence.
pub fn key_phrases(
    doc: &Document<'_>,
    lower: &[Cow<'_, str>],
    content: &[bool],
    limit: usize,
) -> Vec<KeyPhrase> {
    // Phrases as index ranges into the words: no copying while scanning.
    let mut phrases: Vec<Range<usize>> = Vec::new();
    for sentence in &doc.sentences {
        let mut start = sentence.words.start;
        for i in sentence.words.clone() {
            if doc.words[i].breaks_phrase || !content[i] {
                phrases.push(start..i);
                start = if content[i] { i } else { i + 1 };
            }
        }
        phrases.push(start..sentence.words.end);
    }
    phrases.retain(|p| (2..=4).contains(&p.len()));

    let mut frequency: foldhash::HashMap<&str, f64> = foldhash::HashMap::default();
    let mut degree: foldhash::HashMap<&str, f64> = foldhash::HashMap::default();
    for phrase in &phrases {
        for word in &lower[phrase.clone()] {
            *frequency.entry(word).or_default() += 1.0;
            *degree.entry(word).or_default() += phrase.len() as f64;
        }
    }
    let mut scored: foldhash::HashMap<Vec<&str>, f64> = foldhash::HashMap::default();
    for phrase in &phrases {
        let words: Vec<&str> = lower[phrase.clone()].iter().map(AsRef::as_ref).collect();
        let score = words.iter().map(|w| degree[w] / frequency[w]).sum();
        scored.insert(words, score);
    }
    let mut ranked: Vec<(String, f64)> =
        scored.into_iter().map(|(words, score)| (words.join(" "), score)).collect();
    ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().take(limit).map(|(phrase, score)| KeyPhrase { phrase, score: round3(score) }).collect()
}

/// Tags: the top keywords, lower-case, letters, digits and hyphens only, de-duplicated.
pub fn tags(keywords: &[Keyword], limit: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    keywords
        .iter()
        .map(|k| k.term.chars().filter(|c| c.is_alphanumeric() || *c == '-').collect::<String>())
        .filter(|t| t.chars().count() >= 3 && seen.insert(t.clone()))
        .take(limit)
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::document::lowered;

    fn run_keywords(doc: &Document<'_>, language: &str, limit: usize) -> Vec<Keyword> {
        let lower = lowered(doc);
        keywords(&word_counts(&lower), &StopWords::for_language(language), limit)
    }

    fn run_phrases(doc: &Document<'_>, limit: usize) -> Vec<KeyPhrase> {
        let lower = lowered(doc);
        key_phrases(doc, &lower, &StopWords::for_language("en").content_mask(&lower), limit)
    }

    const TEXT: &str = "Rust services emit traces. Distributed tracing connects services. \
        Tempo stores traces and draws a service graph; distributed tracing shows latency.";

    #[test]
    fn keywords_are_frequent_content_words_without_stop_words() {
        let doc = Document::parse(TEXT);
        let found = run_keywords(&doc, "en", 3);
        let terms: Vec<&str> = found.iter().map(|k| k.term.as_str()).collect();
        assert_eq!(terms, ["distributed", "services", "traces"]);
        assert_eq!(found[0].count, 2);
        assert!(!terms.contains(&"and") && !terms.contains(&"a"));
    }

    #[test]
    fn key_phrases_are_multi_word_runs_ranked_by_rake() {
        let doc = Document::parse(TEXT);
        let phrases = run_phrases(&doc, 10);
        let names: Vec<&str> = phrases.iter().map(|p| p.phrase.as_str()).collect();
        assert_eq!(
            names,
            [
                "rust services emit traces",
                "distributed tracing connects services",
                "tempo stores traces",
                "distributed tracing",
                "service graph"
            ]
        );
        assert!(phrases.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn phrases_do_not_cross_punctuation() {
        let doc = Document::parse("graph theory, tracing systems");
        let phrases = run_phrases(&doc, 5);
        let names: Vec<&str> = phrases.iter().map(|p| p.phrase.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(!names.iter().any(|p| p.contains("theory tracing")), "{names:?}");
    }

    #[test]
    fn tags_are_normalised_and_unique() {
        let ks = vec![
            Keyword { term: "open-source".into(), count: 3, score: 0.3 },
            Keyword { term: "rust's".into(), count: 2, score: 0.2 },
            Keyword { term: "go".into(), count: 1, score: 0.1 },
        ];
        assert_eq!(tags(&ks, 5), ["open-source", "rusts"]);
    }

    #[test]
    fn other_languages_use_their_own_stop_words() {
        let doc = Document::parse("Der Hund und die Katze. Der Hund schläft und die Katze spielt.");
        let found = run_keywords(&doc, "de", 2);
        let terms: Vec<&str> = found.iter().map(|k| k.term.as_str()).collect();
        assert_eq!(terms, ["hund", "katze"]);
    }
}
