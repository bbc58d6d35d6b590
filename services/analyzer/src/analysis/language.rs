//! Language detection with whatlang (trigram models for 70 languages).

use pkg_api::Language;

/// Detection looks at this much of the text: a page's language is settled long before its end,
/// and whatlang's cost grows with the input.
const SAMPLE_BYTES: usize = 16 * 1024;

pub fn detect(text: &str) -> Language {
    let sample = &text[..floor_char_boundary(text, SAMPLE_BYTES)];
    match whatlang::detect(sample) {
        Some(info) => Language {
            code: iso_639_1(info.lang().code()).unwrap_or(info.lang().code()).to_owned(),
            name: info.lang().eng_name().to_owned(),
            confidence: (info.confidence() * 1000.0).round() / 1000.0,
            reliable: info.is_reliable(),
        },
        None => {
            Language { code: "und".into(), name: "Undetermined".into(), confidence: 0.0, reliable: false }
        }
    }
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

/// ISO 639-3 (whatlang) to ISO 639-1, the codes `<html lang>` and most people use.
fn iso_639_1(code3: &str) -> Option<&'static str> {
    Some(match code3 {
        "afr" => "af",
        "aka" => "ak",
        "amh" => "am",
        "ara" => "ar",
        "aze" => "az",
        "bel" => "be",
        "ben" => "bn",
        "bul" => "bg",
        "cat" => "ca",
        "ces" => "cs",
        "cmn" => "zh",
        "cym" => "cy",
        "dan" => "da",
        "deu" => "de",
        "ell" => "el",
        "eng" => "en",
        "epo" => "eo",
        "est" => "et",
        "fin" => "fi",
        "fra" => "fr",
        "guj" => "gu",
        "heb" => "he",
        "hin" => "hi",
        "hrv" => "hr",
        "hun" => "hu",
        "hye" => "hy",
        "ind" => "id",
        "ita" => "it",
        "jav" => "jv",
        "jpn" => "ja",
        "kan" => "kn",
        "kat" => "ka",
        "khm" => "km",
        "kor" => "ko",
        "lat" => "la",
        "lav" => "lv",
        "lit" => "lt",
        "mal" => "ml",
        "mar" => "mr",
        "mkd" => "mk",
        "mya" => "my",
        "nep" => "ne",
        "nld" => "nl",
        "nob" => "nb",
        "ori" => "or",
        "pan" => "pa",
        "pes" => "fa",
        "pol" => "pl",
        "por" => "pt",
        "ron" => "ro",
        "rus" => "ru",
        "sin" => "si",
        "slk" => "sk",
        "slv" => "sl",
        "sna" => "sn",
        "spa" => "es",
        "srp" => "sr",
        "swe" => "sv",
        "tam" => "ta",
        "tel" => "te",
        "tgl" => "tl",
        "tha" => "th",
        "tuk" => "tk",
        "tur" => "tr",
        "ukr" => "uk",
        "urd" => "ur",
        "uzb" => "uz",
        "vie" => "vi",
        "yid" => "yi",
        "zul" => "zu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_languages_are_recognised_with_two_letter_codes() {
        let cases = [
            ("The quick brown fox jumps over the lazy dog while the farmer watches from the porch.", "en"),
            (
                "Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.",
                "fr",
            ),
            ("Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zuschaut.", "de"),
            ("Быстрая коричневая лиса прыгает через ленивую собаку, пока фермер смотрит с крыльца.", "ru"),
        ];
        for (text, code) in cases {
            assert_eq!(detect(text).code, code, "{text}");
        }
    }

    #[test]
    fn nothing_to_detect_is_undetermined() {
        let lang = detect("");
        assert_eq!((lang.code.as_str(), lang.reliable), ("und", false));
    }

    #[test]
    fn the_sample_never_splits_a_character() {
        let text = "é".repeat(SAMPLE_BYTES); // two bytes each: the cut lands mid-character
        assert!(floor_char_boundary(&text, SAMPLE_BYTES + 1) <= SAMPLE_BYTES + 1);
        let _ = detect(&text);
    }
}
