//! The analysis pipeline. Each stage runs in its own span, so a trace shows where the time goes.

mod document;
mod keywords;
mod language;
mod quality;
mod readability;
mod sentiment;
mod vocabulary;

use pkg_api::{Analysis, Counts};

pub use document::Document;

/// Words read per minute for `reading_time_s`: a common figure for adult silent reading.
pub const WORDS_PER_MINUTE: f64 = 230.0;

/// Analyses `text`. Never panics: empty, non-English and very long texts all give a result.
pub fn analyze(text: &str) -> Analysis {
    let (doc, vocab) = tracing::info_span!("analyze.tokenize", text.bytes = text.len()).in_scope(|| {
        let doc = Document::parse(text);
        let vocab = vocabulary::Vocabulary::of(&doc);
        (doc, vocab)
    });
    let language = tracing::info_span!("analyze.language").in_scope(|| language::detect(text));
    let readability =
        tracing::info_span!("analyze.readability").in_scope(|| readability::score(&doc, &vocab));
    let (keywords, key_phrases, tags, distinct_words) =
        tracing::info_span!("analyze.keywords", language = %language.code).in_scope(|| {
            let stop = keywords::StopWords::for_language(&language.code);
            let content = stop.content_words(&vocab);
            let keywords = keywords::keywords(&vocab, &content, 10);
            let phrases = keywords::key_phrases(&doc, &vocab, &content, 5);
            let tags = keywords::tags(&keywords, 5);
            (keywords, phrases, tags, vocab.len())
        });
    let sentiment = tracing::info_span!("analyze.sentiment").in_scope(|| sentiment::score(&doc, &vocab));
    let counts = Counts {
        characters: text.chars().count(),
        words: doc.words.len(),
        sentences: doc.sentences.len(),
        paragraphs: doc.paragraphs,
    };
    let quality = quality::score(&doc, distinct_words, &readability);
    Analysis {
        language,
        reading_time_s: (counts.words as f64 / WORDS_PER_MINUTE * 60.0).ceil() as u32,
        counts,
        readability,
        sentiment,
        keywords,
        key_phrases,
        tags,
        quality,
    }
}

/// Builds the lazily loaded tables (sentiment lexicon, stop words) ahead of the first request,
/// with tracing switched off for the call: start-up work belongs to no trace.
pub fn warm_up() {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        let _ = analyze("Warm up the analyzer: a good, short sentence.");
    });
}
