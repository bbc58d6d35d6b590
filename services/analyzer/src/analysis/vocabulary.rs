//! Each distinct lower-case word once. A page repeats its words (a 1 MB article has ~180 000
//! words but a few thousand distinct ones), and every stage asks the same questions of each
//! word — is it a stop word, what is its sentiment valence, is it an intensifier or a negation.
//! Hashing the words once here and answering per distinct word, indexed by id, replaces a hash
//! lookup (or a list scan) per word per stage.

use std::borrow::Cow;

use super::document::Document;

pub struct Vocabulary<'w> {
    /// For each word of the document, in order, the index of its lower-case form in `words`.
    pub ids: Vec<u32>,
    /// The distinct lower-case words, in order of first appearance: borrowed from the text
    /// when it is already in lower case (most words), owned otherwise.
    pub words: Vec<Cow<'w, str>>,
    /// How often each distinct word occurs.
    pub counts: Vec<usize>,
}

impl<'w> Vocabulary<'w> {
    /// Lower-cases each word once, without keeping a lower-case copy of the whole document: a
    /// 1 MB text has ~180 000 words, and a vector of them all is megabytes written and freed
    /// per request.
    pub fn of(doc: &Document<'w>) -> Self {
        let mut index: foldhash::HashMap<Cow<'w, str>, u32> = foldhash::HashMap::default();
        let mut words = Vec::new();
        let mut counts = Vec::new();
        let mut lowered = String::new();
        let ids = doc
            .words
            .iter()
            .map(|word| {
                let has_upper = word.text.chars().any(char::is_uppercase);
                let lower: &str = if !has_upper {
                    word.text
                } else if word.text.is_ascii() {
                    lowered.clear();
                    lowered.push_str(word.text);
                    lowered.make_ascii_lowercase();
                    &lowered
                } else {
                    // `str::to_lowercase`, not per character: a final Σ becomes ς.
                    lowered = word.text.to_lowercase();
                    &lowered
                };
                let id = match index.get(lower) {
                    Some(&id) => id,
                    None => {
                        let key =
                            if has_upper { Cow::Owned(lower.to_owned()) } else { Cow::Borrowed(word.text) };
                        // A document holds far fewer than 2³² words (the analyzer caps its input).
                        let id = words.len() as u32;
                        words.push(key.clone());
                        counts.push(0);
                        index.insert(key, id);
                        id
                    }
                };
                counts[id as usize] += 1;
                id
            })
            .collect();
        Vocabulary { ids, words, counts }
    }

    /// The number of distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// `answer` for each distinct word, indexed by id.
    pub fn per_word<T>(&self, mut answer: impl FnMut(&str) -> T) -> Vec<T> {
        self.words.iter().map(|w| answer(w)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_word_gets_one_id_and_its_count() {
        let doc = Document::parse("The cat and the HAT. The Straße, STRASSE and straße.");
        let vocab = Vocabulary::of(&doc);
        assert_eq!(vocab.words, ["the", "cat", "and", "hat", "straße", "strasse"]);
        assert_eq!(vocab.counts, [3, 1, 2, 1, 2, 1]);
        assert_eq!(vocab.ids, [0, 1, 2, 0, 3, 0, 4, 5, 2, 4]);
        assert_eq!(vocab.per_word(str::len), [3, 3, 3, 3, 7, 7]);
        // Words already in lower case are borrowed from the text, not copied.
        assert!(matches!(vocab.words[1], Cow::Borrowed(_)));
        assert!(matches!(vocab.words[3], Cow::Owned(_)));
    }
}
