//! Flesch reading ease and Flesch–Kincaid grade, with an English syllable heuristic.
//! Both formulas are defined for English; for other languages they are indicative only.

use pkg_api::Readability;

use super::document::Document;
use super::vocabulary::Vocabulary;

pub fn score(doc: &Document<'_>, vocab: &Vocabulary<'_>) -> Readability {
    let words = doc.words.len();
    let sentences = doc.sentences.len();
    if words == 0 || sentences == 0 {
        return Readability { flesch_reading_ease: 0.0, flesch_kincaid_grade: 0.0, level: "none".into() };
    }
    // Counted once per distinct word. The count ignores ASCII case, so it holds for every
    // ASCII spelling of the word; others ("École") are counted as written.
    let per_word = vocab.per_word(syllables);
    let syllables: usize = doc
        .words
        .iter()
        .zip(&vocab.ids)
        .map(|(w, &id)| if w.text.is_ascii() { per_word[id as usize] } else { syllables(w.text) })
        .sum();
    let words_per_sentence = words as f64 / sentences as f64;
    let syllables_per_word = syllables as f64 / words as f64;
    let ease = 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word;
    let grade = 0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59;
    Readability {
        flesch_reading_ease: round2(ease),
        flesch_kincaid_grade: round2(grade),
        level: level(ease).into(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Flesch's own bands.
fn level(ease: f64) -> &'static str {
    match ease {
        e if e >= 90.0 => "very_easy",
        e if e >= 80.0 => "easy",
        e if e >= 70.0 => "fairly_easy",
        e if e >= 60.0 => "standard",
        e if e >= 50.0 => "fairly_difficult",
        e if e >= 30.0 => "difficult",
        _ => "very_difficult",
    }
}

fn is_vowel(c: char) -> bool {
    matches!(
        c.to_ascii_lowercase(),
        'a' | 'e'
            | 'i'
            | 'o'
            | 'u'
            | 'y'
            | 'à'
            | 'á'
            | 'â'
            | 'ä'
            | 'è'
            | 'é'
            | 'ê'
            | 'ë'
            | 'ì'
            | 'í'
            | 'î'
            | 'ï'
            | 'ò'
            | 'ó'
            | 'ô'
            | 'ö'
            | 'ù'
            | 'ú'
            | 'û'
            | 'ü'
    )
}

/// "make", "stone": a final `e` after a consonant is silent, except in consonant + "le"
/// ("table", "syllable"), where it carries the last syllable.
fn ends_in_silent_e(word: &[u8]) -> bool {
    let [.., before_before, before, last] = word else { return false };
    let consonant = |b: &u8| !is_vowel(*b as char);
    let consonant_le = before.eq_ignore_ascii_case(&b'l') && consonant(before_before);
    last.eq_ignore_ascii_case(&b'e') && consonant(before) && !consonant_le
}

/// Vowel groups, less a silent final `e` (but not `-le` as in "table"), at least one.
pub fn syllables(word: &str) -> usize {
    let mut count = 0;
    let mut previous_vowel = false;
    for c in word.chars() {
        let vowel = is_vowel(c);
        if vowel && !previous_vowel {
            count += 1;
        }
        previous_vowel = vowel;
    }
    if count > 1 && ends_in_silent_e(word.as_bytes()) {
        count -= 1;
    }
    count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(doc: &Document<'_>) -> Readability {
        score(doc, &Vocabulary::of(doc))
    }

    #[test]
    fn syllables_match_a_dictionary_for_common_words() {
        let cases = [
            ("cat", 1),
            ("table", 2),
            ("make", 1),
            ("readability", 5),
            ("syllable", 3),
            ("the", 1),
            ("beautiful", 3),
            ("rhythm", 1),
            ("queue", 1),
            ("area", 2),
        ];
        let wrong: Vec<_> =
            cases.iter().filter(|(w, n)| syllables(w) != *n).map(|(w, n)| (w, n, syllables(w))).collect();
        // A heuristic: allow one miss in ten, never more.
        assert!(wrong.len() <= 1, "{wrong:?}");
    }

    #[test]
    fn simple_prose_reads_easier_than_dense_prose() {
        let easy = Document::parse("The cat sat on the mat. It was fun. We ran to the park.");
        let hard = Document::parse(
            "Institutional considerations notwithstanding, the comprehensive reorganisation \
             necessitated unprecedented administrative collaboration between international organisations.",
        );
        let (easy, hard) = (of(&easy), of(&hard));
        assert!(easy.flesch_reading_ease > 90.0, "{easy:?}");
        assert!(hard.flesch_reading_ease < 10.0, "{hard:?}");
        assert!(easy.flesch_kincaid_grade < hard.flesch_kincaid_grade);
        assert_eq!(easy.level, "very_easy");
        assert_eq!(hard.level, "very_difficult");
    }

    #[test]
    fn the_formulas_match_a_hand_computation() {
        // 2 sentences, 9 words, 10 syllables ("table" has two).
        let doc = Document::parse("The cat sat on a table. Dogs bark loud.");
        assert_eq!((doc.sentences.len(), doc.words.len()), (2, 9));
        let r = of(&doc);
        assert_eq!(r.flesch_reading_ease, round2(206.835 - 1.015 * 4.5 - 84.6 * 10.0 / 9.0));
        assert_eq!(r.flesch_kincaid_grade, round2(0.39 * 4.5 + 11.8 * 10.0 / 9.0 - 15.59));
    }
}
