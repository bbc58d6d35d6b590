//! VADER-style sentiment (Hutto & Gilbert, 2014) over the VADER lexicon shipped by the
//! `vader_sentiment` crate, re-implemented on our own tokens: the crate's scorer allocates per
//! character and per call, and a 1 MB page has thousands of sentences.
//!
//! Per sentence: lexicon valences, boosted or dampened by intensifiers in the three words
//! before, flipped by a negation there, emphasised by ALL CAPS among mixed case, re-weighted
//! around "but", amplified by closing exclamation marks; normalised to -1..1. The text's score
//! is the mean over its sentences.

use std::collections::HashMap;
use std::sync::OnceLock;

use pkg_api::Sentiment;
use unicase::UniCase;

use super::document::{Document, Word};
use super::vocabulary::Vocabulary;

const BOOST: f64 = 0.293;
const CAPS_BOOST: f64 = 0.733;
const NEGATION: f64 = -0.74;
const EXCLAMATION_BOOST: f64 = 0.292;
const MAX_EXCLAMATIONS: usize = 4;
const NORMALIZATION_ALPHA: f64 = 15.0;
/// Scores within ±this are neutral (VADER's own threshold).
const NEUTRAL_BAND: f64 = 0.05;

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nothing", "nowhere", "neither", "nor", "without", "cannot", "cant",
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt",
    "hasnt", "havent", "hadnt", "aint", "rarely", "seldom", "hardly",
];
const INCREMENTS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "greatly",
    "highly",
    "hugely",
    "incredibly",
    "intensely",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "totally",
    "tremendously",
    "truly",
    "unbelievably",
    "utterly",
    "very",
];
const DECREMENTS: &[&str] = &[
    "almost",
    "barely",
    "less",
    "little",
    "marginally",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
];

/// The VADER lexicon keyed by lower-case word, built once: a plain hash of the lower-cased
/// word is several times cheaper than the crate's case-insensitive `UniCase` keys.
fn lexicon() -> &'static foldhash::HashMap<String, f64> {
    static LEXICON: OnceLock<foldhash::HashMap<String, f64>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let source: &HashMap<UniCase<&str>, f64> = &vader_sentiment::LEXICON;
        source.iter().map(|(word, valence)| (word.to_lowercase(), *valence)).collect()
    })
}

/// What sentiment scoring needs to know of a (lower-case) word, looked up once per distinct
/// word.
struct Role {
    /// Its valence in the lexicon, if it has one.
    valence: Option<f64>,
    /// An intensifier's boost (negative for a dampener); 0 for other words.
    boost: f64,
    negation: bool,
}

pub fn score(doc: &Document<'_>, vocab: &Vocabulary<'_>) -> Sentiment {
    let lexicon = lexicon();
    let roles = vocab.per_word(|w| Role {
        valence: lexicon.get(w).copied(),
        boost: booster(w),
        negation: is_negation(w),
    });
    let mut scratch = Scratch::default();
    let mut total = 0.0;
    for sentence in &doc.sentences {
        let range = sentence.words.clone();
        total += sentence_compound(
            &roles,
            &doc.words[range.clone()],
            &vocab.ids[range],
            sentence.exclamations,
            &mut scratch,
        );
    }
    let mean = if doc.sentences.is_empty() { 0.0 } else { total / doc.sentences.len() as f64 };
    let score = (mean * 1000.0).round() / 1000.0;
    let label = if score >= NEUTRAL_BAND {
        "positive"
    } else if score <= -NEUTRAL_BAND {
        "negative"
    } else {
        "neutral"
    };
    Sentiment { score, label: label.into() }
}

fn is_all_caps(word: &str) -> bool {
    // Most words start with a lower-case letter: settled without looking further.
    if word.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        return false;
    }
    if word.is_ascii() {
        // The same test on bytes; a lower-case letter (in most words, the first) settles it.
        let bytes = word.as_bytes();
        return bytes.len() > 1
            && !bytes.iter().any(u8::is_ascii_lowercase)
            && bytes.iter().any(u8::is_ascii_alphabetic);
    }
    word.chars().count() > 1 && word.chars().any(char::is_alphabetic) && !word.chars().any(char::is_lowercase)
}

/// `lower` is the word in lower case.
fn is_negation(lower: &str) -> bool {
    lower.ends_with("n't") || lower.ends_with("n’t") || NEGATIONS.contains(&lower)
}

/// `lower` is the word in lower case.
fn booster(lower: &str) -> f64 {
    if INCREMENTS.contains(&lower) {
        BOOST
    } else if DECREMENTS.contains(&lower) {
        -BOOST
    } else {
        0.0
    }
}

/// Buffers reused from one sentence to the next.
#[derive(Default)]
struct Scratch {
    caps: Vec<bool>,
    valences: Vec<f64>,
}

/// `words` as written (case matters for emphasis), `ids` their distinct lower-case forms, whose
/// `roles` say what each means for sentiment.
fn sentence_compound(
    roles: &[Role],
    words: &[Word<'_>],
    ids: &[u32],
    exclamations: usize,
    scratch: &mut Scratch,
) -> f64 {
    let Scratch { caps, valences } = scratch;
    // ALL CAPS emphasises only among mixed case; most sentences have no such word at all.
    let mixed_caps = words.iter().any(|w| is_all_caps(w.text)) && words.iter().any(|w| !is_all_caps(w.text));
    caps.clear();
    if mixed_caps {
        caps.extend(words.iter().map(|w| is_all_caps(w.text)));
    }
    let emphasised = |i: usize| mixed_caps && caps[i];
    valences.clear();
    valences.resize(words.len(), 0.0);
    for i in 0..words.len() {
        let role = &roles[ids[i] as usize];
        let Some(base) = role.valence else { continue };
        if role.boost != 0.0 {
            continue; // an intensifier is not itself sentiment
        }
        let mut valence = base;
        if emphasised(i) {
            valence += CAPS_BOOST * valence.signum();
        }
        for distance in 1..=3.min(i) {
            let before = &roles[ids[i - distance] as usize];
            let mut boost = before.boost;
            if boost != 0.0 {
                if emphasised(i - distance) {
                    boost += CAPS_BOOST * boost.signum();
                }
                let fade = [1.0, 0.95, 0.9][distance - 1];
                valence += boost * fade * valence.signum();
            }
            if before.negation {
                valence *= NEGATION;
            }
        }
        valences[i] = valence;
    }
    // "but" shifts the weight to what follows it.
    if let Some(but) = words.iter().position(|w| w.text.eq_ignore_ascii_case("but")) {
        for (i, v) in valences.iter_mut().enumerate() {
            *v *= if i < but { 0.5 } else { 1.5 };
        }
    }
    let mut sum: f64 = valences.iter().sum();
    if sum != 0.0 {
        sum += exclamations.min(MAX_EXCLAMATIONS) as f64 * EXCLAMATION_BOOST * sum.signum();
    }
    (sum / (sum * sum + NORMALIZATION_ALPHA).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Sentiment {
        let doc = Document::parse(text);
        score(&doc, &Vocabulary::of(&doc))
    }

    #[test]
    fn clear_sentences_get_the_obvious_label() {
        assert_eq!(of("This is a wonderful, happy day. I love it.").label, "positive");
        assert_eq!(of("This is a terrible, awful mess. I hate it.").label, "negative");
        assert_eq!(of("The train leaves at nine from platform four.").label, "neutral");
        assert_eq!(of("").label, "neutral");
    }

    #[test]
    fn negation_flips_and_boosters_strengthen() {
        let good = of("The food was good.").score;
        assert!(of("The food was not good.").score < 0.0);
        assert!(of("The food was very good.").score > good);
        assert!(of("The food was slightly good.").score < good);
        assert!(of("The food was GOOD.").score > good, "caps among lower case emphasise");
        assert!(of("The food was good!!!").score > good);
    }

    #[test]
    fn but_shifts_weight_to_the_second_clause() {
        assert!(of("The service was good but the food was horrible.").score < 0.0);
    }

    #[test]
    fn scores_stay_within_minus_one_to_one() {
        let s = of(&"Great excellent wonderful amazing fantastic superb! ".repeat(50));
        assert!(s.score <= 1.0 && s.score > 0.9, "{s:?}");
    }
}
