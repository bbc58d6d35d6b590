//! A 0..1 quality score for a page's text, so listings can rank substance over boilerplate.
//!
//! quality = 0.4 · length + 0.2 · readability + 0.2 · diversity + 0.2 · sentence shape, where
//! * length      = min(words / 300, 1): a few hundred words is an article, a dozen a fragment;
//! * readability = 1 inside Flesch reading ease 30..=80, falling linearly to 0 twenty points
//!   outside (text that is nearly unreadable, or trivially choppy, scores lower);
//! * diversity   = 1 when distinct/total words is 0.3..=0.7 (natural prose), falling to 0 at 0
//!   and at 1 (repetition spam, or word lists);
//! * sentence shape = 1 for a mean of 8..=25 words a sentence, falling to 0 at 0 and at 50.

use pkg_api::Readability;

use super::document::Document;

/// `distinct_words` is the number of different words (case-insensitive).
pub fn score(doc: &Document<'_>, distinct_words: usize, readability: &Readability) -> f64 {
    let words = doc.words.len();
    if words == 0 {
        return 0.0;
    }
    let length = (words as f64 / 300.0).min(1.0);
    let ease = readability.flesch_reading_ease;
    let readable = plateau(ease, 10.0, 30.0, 80.0, 100.0);
    let diversity = plateau(distinct_words as f64 / words as f64, 0.0, 0.3, 0.7, 1.0);
    let mean_sentence = words as f64 / doc.sentences.len().max(1) as f64;
    let shape = plateau(mean_sentence, 0.0, 8.0, 25.0, 50.0);
    let q = 0.4 * length + 0.2 * readable + 0.2 * diversity + 0.2 * shape;
    (q * 1000.0).round() / 1000.0
}

/// 0 at or beyond `zero_low`/`zero_high`, 1 between `one_low` and `one_high`, linear between.
fn plateau(x: f64, zero_low: f64, one_low: f64, one_high: f64, zero_high: f64) -> f64 {
    if x <= zero_low || x >= zero_high {
        0.0
    } else if x < one_low {
        (x - zero_low) / (one_low - zero_low)
    } else if x <= one_high {
        1.0
    } else {
        (zero_high - x) / (zero_high - one_high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::readability;

    fn quality(text: &str) -> f64 {
        let doc = Document::parse(text);
        let vocab = crate::analysis::vocabulary::Vocabulary::of(&doc);
        score(&doc, vocab.len(), &readability::score(&doc, &vocab))
    }

    #[test]
    fn an_article_outscores_a_fragment_and_spam() {
        let article = "Distributed tracing follows one request through many services. Each service \
            records spans with timings and attributes. A collector gathers them, and a back end \
            such as Tempo stores the traces and draws a graph of which service calls which. "
            .repeat(8);
        let fragment = "Home. About. Contact.";
        let spam = "buy now ".repeat(400);
        let (a, f, s) = (quality(&article), quality(fragment), quality(&spam));
        assert!(a > f && a > s, "article {a}, fragment {f}, spam {s}");
        assert!((0.0..=1.0).contains(&a));
        assert_eq!(quality(""), 0.0);
    }
}
