//! One pass over the text: words, sentences, paragraphs and phrase breaks.

use std::ops::Range;

/// A word as it appears in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    /// Punctuation (other than a hyphen) separates this word from the previous one: key
    /// phrases never span it.
    pub breaks_phrase: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Indices into [`Document::words`].
    pub words: Range<usize>,
    /// `!` closing the sentence, which VADER reads as emphasis.
    pub exclamations: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'a> {
    pub words: Vec<Word<'a>>,
    pub sentences: Vec<Sentence>,
    pub paragraphs: usize,
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’')
}

impl<'a> Document<'a> {
    /// Words are runs of letters and digits (an apostrophe between letters stays inside:
    /// "don't"). A sentence ends at `.`, `!`, `?` or `…` unless a digit follows directly
    /// ("3.14"). Paragraphs are separated by blank lines.
    pub fn parse(text: &'a str) -> Self {
        let mut words = Vec::new();
        let mut sentences = Vec::new();
        let mut sentence_start = 0;
        let mut paragraphs = 0;
        let mut paragraph_has_text = false;
        let mut newlines_in_gap = 0;
        let mut word_start: Option<usize> = None;
        let mut pending_break = false;
        // Bytes, decoding only non-ASCII characters: most text is ASCII, and a UTF-8 decode
        // per character was a fifth of the analysis.
        let bytes = text.as_bytes();
        let char_at = |at: usize| -> Option<char> {
            match bytes.get(at) {
                None => None,
                Some(&b) if b.is_ascii() => Some(b as char),
                Some(_) => text[at..].chars().next(),
            }
        };
        let mut i = 0;
        while let Some(c) = char_at(i) {
            let mut after = i + c.len_utf8();
            if c.is_alphanumeric()
                || (is_apostrophe(c)
                    && word_start.is_some()
                    && char_at(after).is_some_and(char::is_alphanumeric))
            {
                if word_start.is_none() {
                    word_start = Some(i);
                }
                if !paragraph_has_text {
                    paragraph_has_text = true;
                    paragraphs += 1;
                }
                newlines_in_gap = 0;
                i = after;
                continue;
            }
            if let Some(start) = word_start.take() {
                words.push(Word { text: &text[start..i], breaks_phrase: pending_break });
                pending_break = false;
            }
            if c == '\n' {
                newlines_in_gap += 1;
                if newlines_in_gap >= 2 {
                    paragraph_has_text = false;
                }
            } else if !c.is_whitespace() {
                newlines_in_gap = 0;
                if c != '-' {
                    pending_break = true;
                }
            }
            if is_sentence_end(c) && !char_at(after).is_some_and(|n| n.is_ascii_digit()) {
                let mut exclamations = usize::from(c == '!' || c == '！');
                // "?!" and "!!!" end one sentence, not several.
                while let Some(n) = char_at(after).filter(|&n| is_sentence_end(n)) {
                    exclamations += usize::from(n == '!' || n == '！');
                    after += n.len_utf8();
                }
                if words.len() > sentence_start {
                    sentences.push(Sentence { words: sentence_start..words.len(), exclamations });
                    sentence_start = words.len();
                }
            }
            i = after;
        }
        if let Some(start) = word_start {
            words.push(Word { text: &text[start..], breaks_phrase: pending_break });
        }
        if words.len() > sentence_start {
            sentences.push(Sentence { words: sentence_start..words.len(), exclamations: 0 });
        }
        Document { words, sentences, paragraphs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(doc: &Document<'a>) -> Vec<&'a str> {
        doc.words.iter().map(|w| w.text).collect()
    }

    #[test]
    fn words_sentences_and_paragraphs_are_counted() {
        let doc = Document::parse("Hello there, world! Don't panic.\n\nPi is 3.14 today?! Yes");
        assert_eq!(
            texts(&doc),
            ["Hello", "there", "world", "Don't", "panic", "Pi", "is", "3", "14", "today", "Yes"]
        );
        assert_eq!(doc.sentences.len(), 4, "{:?}", doc.sentences);
        assert_eq!(doc.sentences[0].exclamations, 1);
        assert_eq!(doc.sentences[2].exclamations, 1, "'?!' is one sentence with emphasis");
        assert_eq!(doc.paragraphs, 2);
    }

    #[test]
    fn punctuation_breaks_phrases_but_hyphens_do_not() {
        let doc = Document::parse("state-of-the-art engines, rust");
        let breaks: Vec<bool> = doc.words.iter().map(|w| w.breaks_phrase).collect();
        assert_eq!(breaks, [false, false, false, false, false, true]);
    }

    #[test]
    fn empty_and_punctuation_only_text_has_nothing() {
        for text in ["", "   \n\n ", "!!! ... ???"] {
            let doc = Document::parse(text);
            assert!(doc.words.is_empty() && doc.sentences.is_empty() && doc.paragraphs == 0, "{text:?}");
        }
    }

    #[test]
    fn non_latin_scripts_are_words_too() {
        let doc = Document::parse("Привет, мир. Это тест.");
        assert_eq!(texts(&doc), ["Привет", "мир", "Это", "тест"]);
        assert_eq!(doc.sentences.len(), 2);
    }
}
