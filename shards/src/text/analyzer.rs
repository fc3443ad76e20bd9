//! Text analysis: the same pipeline turns documents and queries into terms.
//!
//! A token is a maximal run of characters that are alphanumeric (Unicode letters and
//! numbers) or `_`; everything else separates tokens. Each token is lowercased,
//! dropped if longer than [`TOKEN_BYTES_MAX`] or if it is a stopword of the language
//! (NLTK lists, matched before stemming), then stemmed (Porter2 for English, Snowball
//! for Italian). At most [`TOKENS_PER_DOC_MAX`] terms come out of one text.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

use super::TextLanguage;

pub use crate::limits::{TOKENS_PER_DOC_MAX, TOKEN_BYTES_MAX};

/// Tokenizer, stopword filter and stemmer for one language.
pub struct Analyzer {
    lang: TextLanguage,
    stemmer: Stemmer,
    stopwords: HashSet<&'static str>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// An analyzer for `lang`.
    pub fn new(lang: TextLanguage) -> Self {
        let (algorithm, code) = match lang {
            TextLanguage::English => (Algorithm::English, "en"),
            TextLanguage::Italian => (Algorithm::Italian, "it"),
        };
        let stopwords = stop_words::lookup(code)
            .expect("stop-words is built with the nltk lists for en and it")
            .iter()
            .copied()
            .collect();
        Analyzer {
            lang,
            stemmer: Stemmer::create(algorithm),
            stopwords,
        }
    }

    /// The language this analyzer was built for.
    pub fn language(&self) -> TextLanguage {
        self.lang
    }

    /// The terms of `text`, in order, duplicates kept.
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = String::new();
        let mut chars = text.chars();
        loop {
            let c = chars.next();
            match c {
                Some(c) if c.is_alphanumeric() || c == '_' => {
                    // Grow only while the token can still be kept; keep scanning to
                    // find where the run ends.
                    if token.len() <= TOKEN_BYTES_MAX {
                        token.extend(c.to_lowercase());
                    }
                }
                _ => {
                    if !token.is_empty() {
                        self.push_term(&token, &mut out);
                        token.clear();
                        if out.len() >= TOKENS_PER_DOC_MAX {
                            break;
                        }
                    }
                    if c.is_none() {
                        break;
                    }
                }
            }
        }
        out
    }

    fn push_term(&self, token: &str, out: &mut Vec<String>) {
        if token.len() > TOKEN_BYTES_MAX || self.stopwords.contains(token) {
            return;
        }
        let stem = self.stemmer.stem(token);
        if !stem.is_empty() {
            out.push(stem.into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(text: &str) -> Vec<String> {
        Analyzer::new(TextLanguage::English).analyze(text)
    }

    fn it(text: &str) -> Vec<String> {
        Analyzer::new(TextLanguage::Italian).analyze(text)
    }

    /// Checks English analysis end to end on a sentence: stopwords ("the", "are",
    /// "is", "it") vanish, case folds, and Porter2 stems "running" to "run",
    /// "cats" to "cat", "quickly" to "quick".
    #[test]
    fn english_stopwords_and_stemming() {
        assert_eq!(en("The Cats are RUNNING quickly"), ["cat", "run", "quick"]);
        assert_eq!(en("it is what it is"), Vec::<String>::new());
        assert_eq!(en("running runs ran"), ["run", "run", "ran"]);
    }

    /// Checks Italian analysis: NLTK Italian stopwords ("il", "e", "di") vanish and
    /// the Snowball Italian stemmer conflates inflections ("gatto"/"gatti",
    /// "correre"/"correndo").
    #[test]
    fn italian_stopwords_and_stemming() {
        let terms = it("Il gatto e i gatti di Roma");
        assert_eq!(terms[0], terms[1], "{terms:?}");
        assert_eq!(terms.len(), 3, "{terms:?}");
        assert_eq!(it("correre"), it("correndo"));
        // Apostrophes split elided articles: "l'acqua" has the term of "acqua".
        assert!(it("l'acqua").contains(&it("acqua")[0]));
    }

    /// Checks tokenization of non-ASCII letters, digits and underscores: accented
    /// and Cyrillic letters stay inside tokens and lowercase, digits and `_` join
    /// tokens, punctuation and whitespace split them.
    #[test]
    fn unicode_digits_and_underscore() {
        assert_eq!(en("Ünïcödé"), ["ünïcödé"]);
        assert_eq!(en("ПРИВЕТ мир"), ["привет", "мир"]);
        assert_eq!(en("snake_case v2 42,7"), ["snake_cas", "v2", "42", "7"]);
        assert_eq!(en("foo-bar.baz/qux"), ["foo", "bar", "baz", "qux"]);
        assert_eq!(en("  \t\n "), Vec::<String>::new());
    }

    /// Checks the limits: a token longer than TOKEN_BYTES_MAX is skipped while its
    /// neighbours stay, and a huge text yields at most TOKENS_PER_DOC_MAX terms.
    #[test]
    fn limits() {
        let long = "x".repeat(TOKEN_BYTES_MAX + 1);
        let fits = "z".repeat(TOKEN_BYTES_MAX);
        assert_eq!(
            en(&format!("foo {long} {fits} bar")),
            ["foo", fits.as_str(), "bar"]
        );
        let huge = "word ".repeat(TOKENS_PER_DOC_MAX + 10);
        assert_eq!(en(&huge).len(), TOKENS_PER_DOC_MAX);
    }
}
