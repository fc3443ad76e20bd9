//! BERT's WordPiece tokenizer, read from a `tokenizer.json` (the Hugging Face
//! format): BertNormalizer (control characters removed, whitespace as spaces, CJK
//! characters padded with spaces, lowercasing and accent stripping as configured),
//! the BertPreTokenizer (split on whitespace and on each punctuation character), then
//! greedy longest-match WordPiece with the `##` continuation prefix, `[CLS]` ... `[SEP]`
//! around, truncated to the model's length. Tested against the `tokenizers` library's
//! output for the model this project ships (`tests/embed_local.rs`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

#[derive(Debug)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    prefix: String,
    max_chars_per_word: usize,
    lowercase: bool,
    strip_accents: bool,
    chinese_chars: bool,
    clean_text: bool,
    /// Most tokens of one text, `[CLS]` and `[SEP]` included.
    pub max_tokens: usize,
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

impl WordPiece {
    /// Reads `tokenizer.json`; `max_tokens` overrides its truncation length.
    pub fn load(path: &Path, max_tokens: Option<usize>) -> Result<WordPiece, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let j: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let model = j.get("model").ok_or("tokenizer.json has no model")?;
        if model.get("type").and_then(Value::as_str) != Some("WordPiece") {
            return Err("only WordPiece tokenizers (BERT family) are supported".into());
        }
        let vocab: HashMap<String, u32> = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or("tokenizer.json has no vocabulary")?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), u32::try_from(v.as_u64()?).ok()?)))
            .collect();
        let id = |tok: &str| {
            vocab
                .get(tok)
                .copied()
                .ok_or_else(|| format!("the vocabulary has no {tok}"))
        };
        let unk_tok = model
            .get("unk_token")
            .and_then(Value::as_str)
            .unwrap_or("[UNK]");
        let norm = j.get("normalizer").cloned().unwrap_or(Value::Null);
        let flag = |k: &str, d: bool| norm.get(k).and_then(Value::as_bool).unwrap_or(d);
        let lowercase = flag("lowercase", true);
        // BertNormalizer: strip_accents unset follows lowercase.
        let strip_accents = norm
            .get("strip_accents")
            .and_then(Value::as_bool)
            .unwrap_or(lowercase);
        let truncation = field(&j, &["truncation", "max_length"]).and_then(Value::as_u64);
        Ok(WordPiece {
            unk: id(unk_tok)?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            prefix: model
                .get("continuing_subword_prefix")
                .and_then(Value::as_str)
                .unwrap_or("##")
                .to_owned(),
            max_chars_per_word: model
                .get("max_input_chars_per_word")
                .and_then(Value::as_u64)
                .unwrap_or(100) as usize,
            lowercase,
            strip_accents,
            chinese_chars: flag("handle_chinese_chars", true),
            clean_text: flag("clean_text", true),
            max_tokens: max_tokens
                .or(truncation.map(|t| t as usize))
                .unwrap_or(512)
                .max(2),
            vocab,
        })
    }

    fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if self.clean_text {
                if c == '\0' || c == '\u{fffd}' || (is_control(c) && !c.is_whitespace()) {
                    continue;
                }
                if c.is_whitespace() {
                    out.push(' ');
                    continue;
                }
            }
            if self.chinese_chars && is_cjk(c) {
                out.push(' ');
                out.push(c);
                out.push(' ');
                continue;
            }
            out.push(c);
        }
        if self.strip_accents {
            out = out
                .nfd()
                .filter(|c| {
                    c.general_category() != unicode_properties::GeneralCategory::NonspacingMark
                })
                .collect();
        }
        if self.lowercase {
            out = out.to_lowercase();
        }
        out
    }

    /// Word pieces of one pre-token.
    fn word(&self, word: &str, out: &mut Vec<u32>) {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > self.max_chars_per_word {
            out.push(self.unk);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let (a, b) = (
                    chars[start].0,
                    chars.get(end).map_or(word.len(), |(i, _)| *i),
                );
                let piece = if start > 0 {
                    format!("{}{}", self.prefix, &word[a..b])
                } else {
                    word[a..b].to_owned()
                };
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    pieces.push(id);
                    start = end;
                }
                None => {
                    out.push(self.unk);
                    return;
                }
            }
        }
        out.extend(pieces);
    }

    /// `[CLS]` + word pieces + `[SEP]`, at most `max_tokens` ids.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let norm = self.normalize(text);
        let mut ids = vec![self.cls];
        let budget = self.max_tokens - 1;
        let mut word = String::new();
        let flush = |word: &mut String, ids: &mut Vec<u32>| {
            if !word.is_empty() && ids.len() < budget {
                self.word(word, ids);
            }
            word.clear();
        };
        for c in norm.chars() {
            if c.is_whitespace() {
                flush(&mut word, &mut ids);
            } else if is_punctuation(c) {
                flush(&mut word, &mut ids);
                word.push(c);
                flush(&mut word, &mut ids);
            } else {
                word.push(c);
            }
            if ids.len() >= budget {
                break;
            }
        }
        flush(&mut word, &mut ids);
        ids.truncate(budget);
        ids.push(self.sep);
        ids
    }
}

fn is_control(c: char) -> bool {
    if c == '\t' || c == '\n' || c == '\r' {
        return false;
    }
    matches!(c.general_category_group(), GeneralCategoryGroup::Other)
}

/// BERT's punctuation: ASCII symbols and every Unicode punctuation character.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// The CJK Unified Ideographs blocks BERT pads with spaces.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    //! A tiny vocabulary: normalization, punctuation, WordPiece and truncation.
    use super::*;

    fn tiny(max: usize) -> WordPiece {
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", ",", "!", "un", "##aff",
            "##able", "cafe", "中",
        ];
        WordPiece {
            vocab: words
                .iter()
                .enumerate()
                .map(|(i, w)| (w.to_string(), i as u32))
                .collect(),
            unk: 1,
            cls: 2,
            sep: 3,
            prefix: "##".into(),
            max_chars_per_word: 100,
            lowercase: true,
            strip_accents: true,
            chinese_chars: true,
            clean_text: true,
            max_tokens: max,
        }
    }

    #[test]
    fn wordpiece_and_normalization() {
        let t = tiny(64);
        assert_eq!(t.encode("Hello, WORLD!"), [2, 4, 6, 5, 7, 3]);
        assert_eq!(t.encode("unaffable"), [2, 8, 9, 10, 3]);
        assert_eq!(t.encode("Café\tworld"), [2, 11, 5, 3]);
        assert_eq!(t.encode("zzz"), [2, 1, 3]);
        assert_eq!(t.encode("hello中world"), [2, 4, 12, 5, 3]);
        assert_eq!(t.encode(""), [2, 3]);
        let short = tiny(4);
        assert_eq!(short.encode("hello world hello world"), [2, 4, 5, 3]);
    }
}
