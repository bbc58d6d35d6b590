//! Keywords by term frequency, key phrases by RAKE, and tags from the keywords.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use pkg_api::{KeyPhrase, Keyword};

use super::document::Document;
use super::vocabulary::Vocabulary;

/// Stop words of the text's language plus English (pages mix in English navigation and
/// boilerplate), compared in lower case.
pub struct StopWords(foldhash::HashSet<&'static str>);

impl StopWords {
    /// The set for `code`, built once per language and kept: building it (a thousand or so
    /// inserts) cost more than analysing a short page.
    pub fn for_language(code: &str) -> &'static StopWords {
        static BUILT: OnceLock<Mutex<HashMap<String, &'static StopWords>>> = OnceLock::new();
        let mut built = BUILT.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
        // A handful of languages at most (whatlang knows ~70): leaking each set once is bounded.
        built.entry(code.to_owned()).or_insert_with(|| Box::leak(Box::new(Self::build(code))))
    }

    fn build(code: &str) -> Self {
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

    /// [`Self::is_content`] for each distinct word of `vocab`, indexed by id.
    pub fn content_words(&self, vocab: &Vocabulary<'_>) -> Vec<bool> {
        vocab.per_word(|w| self.is_content(w))
    }
}

/// The `limit` most frequent content terms; ties broken alphabetically so output is stable.
/// `content` is [`StopWords::content_words`]: decided once per distinct word.
pub fn keywords(vocab: &Vocabulary<'_>, content: &[bool], limit: usize) -> Vec<Keyword> {
    let mut ranked: Vec<(&str, usize)> = vocab
        .words
        .iter()
        .zip(&vocab.counts)
        .zip(content)
        .filter(|(_, is_content)| **is_content)
        .map(|((word, count), _)| (word.as_ref(), *count))
        .collect();
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
    vocab: &Vocabulary<'_>,
    content: &[bool],
    limit: usize,
) -> Vec<KeyPhrase> {
    let is_content = |i: usize| content[vocab.ids[i] as usize];
    // Phrases as index ranges into the words: no copying while scanning.
    let mut phrases: Vec<Range<usize>> = Vec::new();
    for sentence in &doc.sentences {
        let mut start = sentence.words.start;
        for i in sentence.words.clone() {
            if doc.words[i].breaks_phrase || !is_content(i) {
                phrases.push(start..i);
                start = if is_content(i) { i } else { i + 1 };
            }
        }
        phrases.push(start..sentence.words.end);
    }
    phrases.retain(|p| (2..=MAX_PHRASE).contains(&p.len()));

    let mut frequency = vec![0.0; vocab.len()];
    let mut degree = vec![0.0; vocab.len()];
    for phrase in &phrases {
        for &id in &vocab.ids[phrase.clone()] {
            frequency[id as usize] += 1.0;
            degree[id as usize] += phrase.len() as f64;
        }
    }
    // Each distinct phrase once, keyed by its word ids: a fixed-size key, nothing allocated.
    let mut scored: foldhash::HashMap<PhraseKey, f64> = foldhash::HashMap::default();
    for phrase in &phrases {
        let ids = &vocab.ids[phrase.clone()];
        let mut key = [NO_WORD; MAX_PHRASE];
        key[..ids.len()].copy_from_slice(ids);
        let score = ids.iter().map(|&id| degree[id as usize] / frequency[id as usize]).sum();
        scored.insert(key, score);
    }
    // Words hold no spaces and sort above one, so comparing word by word orders phrases as
    // their space-joined text would: the text is built only for the phrases returned.
    let words_of = |key: PhraseKey| {
        key.into_iter().take_while(|&id| id != NO_WORD).map(|id| vocab.words[id as usize].as_ref())
    };
    let mut ranked: Vec<(PhraseKey, f64)> = scored.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| words_of(a.0).cmp(words_of(b.0))));
    ranked
        .into_iter()
        .take(limit)
        .map(|(key, score)| KeyPhrase {
            phrase: words_of(key).collect::<Vec<_>>().join(" "),
            score: round3(score),
        })
        .collect()
}

/// Key phrases have at most this many words.
const MAX_PHRASE: usize = 4;
/// Fills the key of a phrase shorter than [`MAX_PHRASE`].
const NO_WORD: u32 = u32::MAX;
type PhraseKey = [u32; MAX_PHRASE];

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

    fn run_keywords(doc: &Document<'_>, language: &str, limit: usize) -> Vec<Keyword> {
        let vocab = Vocabulary::of(doc);
        keywords(&vocab, &StopWords::for_language(language).content_words(&vocab), limit)
    }

    fn run_phrases(doc: &Document<'_>, limit: usize) -> Vec<KeyPhrase> {
        let vocab = Vocabulary::of(doc);
        key_phrases(doc, &vocab, &StopWords::for_language("en").content_words(&vocab), limit)
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
