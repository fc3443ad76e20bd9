//! The built-in embedder: a BERT-family sentence-embedding model run in-process on
//! the CPU. Reads a model directory as sentence-transformers writes it —
//! `config.json`, `tokenizer.json` (WordPiece), `model.safetensors`,
//! `1_Pooling/config.json` (mean or CLS pooling) and, when present,
//! `config_sentence_transformers.json` (query/passage prompts, e.g. e5's `query: `)
//! — so all-MiniLM-L6-v2 (the default, installed by `deploy/fetch-models.sh`),
//! bge, e5 and gte directories load alike. Vectors are L2-normalized.

mod bert;
mod dense;
mod math;
mod matmul;
mod tokenizer;
mod weights;

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::bert::{Bert, BertConfig};
pub use self::dense::Threads;
use self::tokenizer::WordPiece;
use self::weights::Weights;
use super::error::EmbedError;
use crate::engine::EmbedPurpose;

/// The default model's directory name under the models directory.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
}

pub struct LocalModel {
    name: String,
    bert: Bert,
    tokenizer: WordPiece,
    pooling: Pooling,
    query_prefix: String,
    passage_prefix: String,
}

fn read_json(path: &Path) -> Result<Option<Value>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

impl LocalModel {
    /// Loads a model directory; `max_tokens` overrides the tokenizer's truncation.
    pub fn load(dir: &Path, max_tokens: Option<usize>) -> Result<LocalModel, EmbedError> {
        Self::load_inner(dir, max_tokens).map_err(|reason| EmbedError::Model {
            dir: dir.display().to_string(),
            reason,
        })
    }

    fn load_inner(dir: &Path, max_tokens: Option<usize>) -> Result<LocalModel, String> {
        let config = BertConfig::load(&dir.join("config.json"))?;
        let mut tokenizer = WordPiece::load(&dir.join("tokenizer.json"), max_tokens)?;
        tokenizer.max_tokens = tokenizer.max_tokens.min(config.max_positions);
        let weights = Weights::load(&dir.join("model.safetensors"))?;
        let bert = Bert::load(config, weights)?;
        let pooling = match read_json(&dir.join("1_Pooling/config.json"))? {
            Some(p) if p.get("pooling_mode_cls_token").and_then(Value::as_bool) == Some(true) => {
                Pooling::Cls
            }
            _ => Pooling::Mean,
        };
        let prompts = read_json(&dir.join("config_sentence_transformers.json"))?
            .and_then(|v| v.get("prompts").cloned())
            .unwrap_or(Value::Null);
        let prompt = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| prompts.get(*k).and_then(Value::as_str))
                .unwrap_or("")
                .to_owned()
        };
        Ok(LocalModel {
            name: dir
                .file_name()
                .map_or_else(|| "local".into(), |n| n.to_string_lossy().into_owned()),
            query_prefix: prompt(&["query"]),
            passage_prefix: prompt(&["passage", "document"]),
            bert,
            tokenizer,
            pooling,
        })
    }

    /// The directory of the default model under `models_dir`, if it is installed.
    pub fn default_dir(models_dir: &Path) -> Option<PathBuf> {
        let d = models_dir.join(DEFAULT_MODEL);
        d.join("model.safetensors").exists().then_some(d)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dim(&self) -> usize {
        self.bert.config.hidden
    }

    pub fn max_tokens(&self) -> usize {
        self.tokenizer.max_tokens
    }

    /// Token ids of `text` as the model sees it (prefix included).
    pub fn tokens(&self, text: &str, purpose: EmbedPurpose) -> Vec<u32> {
        let prefix = match purpose {
            EmbedPurpose::Query => &self.query_prefix,
            EmbedPurpose::Passage => &self.passage_prefix,
        };
        if prefix.is_empty() {
            self.tokenizer.encode(text)
        } else {
            self.tokenizer.encode(&format!("{prefix}{text}"))
        }
    }

    /// Unit-length embeddings of `texts`, in order, computed on the calling thread.
    pub fn embed(&self, texts: &[String], purpose: EmbedPurpose) -> Vec<Vec<f32>> {
        let seqs: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t, purpose)).collect();
        self.embed_tokens(&seqs)
    }

    /// Unit-length embeddings of already tokenized texts (see [`LocalModel::tokens`]).
    pub fn embed_tokens(&self, seqs: &[Vec<u32>]) -> Vec<Vec<f32>> {
        self.embed_tokens_on(seqs, Threads(1))
    }

    /// [`LocalModel::embed_tokens`] with the dense layers split over `threads` of the
    /// current rayon pool (call it inside `edge::CpuPool::wide`).
    pub fn embed_tokens_on(&self, seqs: &[Vec<u32>], threads: Threads) -> Vec<Vec<f32>> {
        let h = self.dim();
        let states = self.bert.forward(seqs, threads);
        let mut out = Vec::with_capacity(seqs.len());
        let mut row = 0;
        for seq in seqs {
            let n = seq.len();
            let rows = &states[row * h..(row + n) * h];
            let mut v = match self.pooling {
                Pooling::Cls => rows[..h].to_vec(),
                Pooling::Mean => {
                    let mut acc = vec![0.0f32; h];
                    for r in rows.chunks_exact(h) {
                        for (a, x) in acc.iter_mut().zip(r) {
                            *a += x;
                        }
                    }
                    let inv = 1.0 / n as f32;
                    acc.iter_mut().for_each(|a| *a *= inv);
                    acc
                }
            };
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            out.push(v);
            row += n;
        }
        out
    }
}

/// Splits sequences into `parts` groups of about equal cost (longest first, each to
/// the group with the least work so far), so that threads embedding one group each
/// finish together. The cost of a sequence of n tokens is n * (hidden work) plus
/// n^2 (attention); `n * (n + 4 * 384)` is close enough for BERT-sized models.
/// Returns indices into `seqs`; groups may be empty when there are fewer sequences.
pub fn balance(seqs: &[Vec<u32>], parts: usize) -> Vec<Vec<usize>> {
    let parts = parts.max(1);
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    let cost = |i: usize| seqs[i].len() * (seqs[i].len() + 1536);
    order.sort_by_key(|&i| std::cmp::Reverse(cost(i)));
    let mut groups = vec![Vec::new(); parts];
    let mut load = vec![0usize; parts];
    for i in order {
        let g = (0..parts).min_by_key(|&g| load[g]).unwrap_or(0);
        load[g] += cost(i);
        groups[g].push(i);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::balance;

    #[test]
    fn balance_covers_every_sequence_once_and_evens_the_load() {
        let seqs: Vec<Vec<u32>> = (0..33).map(|i| vec![0; 1 + (i * 37) % 128]).collect();
        let groups = balance(&seqs, 2);
        let mut seen: Vec<usize> = groups.concat();
        seen.sort();
        assert_eq!(seen, (0..33).collect::<Vec<_>>());
        let load = |g: &Vec<usize>| g.iter().map(|&i| seqs[i].len()).sum::<usize>() as f64;
        let (a, b) = (load(&groups[0]), load(&groups[1]));
        assert!((a - b).abs() / (a + b) < 0.05, "{a} vs {b}");
        assert_eq!(
            balance(&seqs[..1], 4)
                .iter()
                .filter(|g| !g.is_empty())
                .count(),
            1
        );
        assert!(balance(&[], 3).iter().all(Vec::is_empty));
    }
}
