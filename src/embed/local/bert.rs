//! The BERT encoder forward pass (embeddings, then `layers` blocks of self-attention
//! and feed-forward with post-LayerNorm, GELU), for sentence embeddings. Every
//! sequence of a batch is packed without padding: the dense layers run over all
//! tokens at once (one matrix product per layer and weight), attention runs per
//! sequence and head on its own rows.

use std::path::Path;

use serde_json::Value;

use super::dense::{Act, Dense, Threads};
use super::math;
use super::matmul::{gemm, View};
use super::weights::Weights;

/// The shapes in `config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

impl BertConfig {
    pub fn load(path: &Path) -> Result<BertConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let j: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let n = |k: &str| {
            j.get(k)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| format!("{}: no {k}", path.display()))
        };
        let act = j
            .get("hidden_act")
            .and_then(Value::as_str)
            .unwrap_or("gelu");
        if act != "gelu" {
            return Err(format!("hidden_act {act} is not supported (gelu is)"));
        }
        let cfg = BertConfig {
            vocab: n("vocab_size")?,
            hidden: n("hidden_size")?,
            layers: n("num_hidden_layers")?,
            heads: n("num_attention_heads")?,
            intermediate: n("intermediate_size")?,
            max_positions: n("max_position_embeddings")?,
            type_vocab: n("type_vocab_size").unwrap_or(2),
            layer_norm_eps: j
                .get("layer_norm_eps")
                .and_then(Value::as_f64)
                .unwrap_or(1e-12) as f32,
        };
        if cfg.heads == 0 || !cfg.hidden.is_multiple_of(cfg.heads) {
            return Err("hidden_size must be a multiple of num_attention_heads".into());
        }
        Ok(cfg)
    }
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    ff_in: Dense,
    ff_out: Dense,
    ff_norm: Norm,
}

pub struct Bert {
    pub config: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

struct Raw {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn raw(w: &mut Weights, prefix: &str, out: usize, inp: usize) -> Result<Raw, String> {
    Ok(Raw {
        weight: w.take(&format!("{prefix}.weight"), &[out, inp])?,
        bias: w.take(&format!("{prefix}.bias"), &[out])?,
    })
}

fn dense(w: &mut Weights, prefix: &str, out: usize, inp: usize) -> Result<Dense, String> {
    let r = raw(w, prefix, out, inp)?;
    Ok(Dense::new(&r.weight, &r.bias, out, inp))
}

fn norm(w: &mut Weights, prefix: &str, n: usize) -> Result<Norm, String> {
    Ok(Norm {
        weight: w.take(&format!("{prefix}.weight"), &[n])?,
        bias: w.take(&format!("{prefix}.bias"), &[n])?,
    })
}

impl Bert {
    pub fn load(config: BertConfig, mut w: Weights) -> Result<Bert, String> {
        let (h, i) = (config.hidden, config.intermediate);
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let p = format!("encoder.layer.{l}");
            // Query, key and value as one (3h x h) product.
            let q = raw(&mut w, &format!("{p}.attention.self.query"), h, h)?;
            let k = raw(&mut w, &format!("{p}.attention.self.key"), h, h)?;
            let v = raw(&mut w, &format!("{p}.attention.self.value"), h, h)?;
            let qkv = Dense::new(
                &[q.weight, k.weight, v.weight].concat(),
                &[q.bias, k.bias, v.bias].concat(),
                3 * h,
                h,
            );
            layers.push(Layer {
                qkv,
                attn_out: dense(&mut w, &format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&mut w, &format!("{p}.attention.output.LayerNorm"), h)?,
                ff_in: dense(&mut w, &format!("{p}.intermediate.dense"), i, h)?,
                ff_out: dense(&mut w, &format!("{p}.output.dense"), h, i)?,
                ff_norm: norm(&mut w, &format!("{p}.output.LayerNorm"), h)?,
            });
        }
        Ok(Bert {
            word: w.take("embeddings.word_embeddings.weight", &[config.vocab, h])?,
            position: w.take(
                "embeddings.position_embeddings.weight",
                &[config.max_positions, h],
            )?,
            token_type: w.take(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab, h],
            )?,
            emb_norm: norm(&mut w, "embeddings.LayerNorm", h)?,
            layers,
            config,
        })
    }

    fn layer_norm(&self, x: &mut [f32], n: &Norm) {
        let eps = self.config.layer_norm_eps;
        for row in x.chunks_exact_mut(self.config.hidden) {
            math::layer_norm(row, &n.weight, &n.bias, eps);
        }
    }

    /// The last hidden states of `seqs` (token ids, each at most `max_positions`),
    /// packed: the rows of sequence `s` start at the sum of the earlier lengths.
    /// The dense layers use `threads` (attention stays on the calling thread).
    pub fn forward(&self, seqs: &[Vec<u32>], threads: Threads) -> Vec<f32> {
        let c = &self.config;
        let h = c.hidden;
        let total: usize = seqs.iter().map(Vec::len).sum();
        let mut x = vec![0.0f32; total * h];
        let mut row = 0;
        for seq in seqs {
            for (pos, &id) in seq.iter().enumerate() {
                let id = (id as usize).min(c.vocab - 1);
                let pos = pos.min(c.max_positions - 1);
                let out = &mut x[row * h..(row + 1) * h];
                let (w, p, t) = (
                    &self.word[id * h..(id + 1) * h],
                    &self.position[pos * h..(pos + 1) * h],
                    &self.token_type[..h],
                );
                for j in 0..h {
                    out[j] = w[j] + p[j] + t[j];
                }
                row += 1;
            }
        }
        self.layer_norm(&mut x, &self.emb_norm);
        let longest = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut qkv = vec![0.0f32; total * 3 * h];
        let mut ctx = vec![0.0f32; total * h];
        let mut tmp = vec![0.0f32; total * h];
        let mut ff = vec![0.0f32; total * c.intermediate];
        let mut scores = vec![0.0f32; longest * longest];
        for l in &self.layers {
            l.qkv.forward(threads, Act::None, &x, total, &mut qkv);
            self.attention(seqs, &qkv, &mut ctx, &mut scores);
            l.attn_out
                .forward(threads, Act::None, &ctx, total, &mut tmp);
            for (t, xv) in tmp.iter_mut().zip(&x) {
                *t += xv;
            }
            self.layer_norm(&mut tmp, &l.attn_norm);
            std::mem::swap(&mut x, &mut tmp);
            l.ff_in.forward(threads, Act::Gelu, &x, total, &mut ff);
            l.ff_out.forward(threads, Act::None, &ff, total, &mut tmp);
            for (t, xv) in tmp.iter_mut().zip(&x) {
                *t += xv;
            }
            self.layer_norm(&mut tmp, &l.ff_norm);
            std::mem::swap(&mut x, &mut tmp);
        }
        x
    }

    /// Multi-head self-attention of every sequence over its own rows of `qkv`
    /// (row = [q | k | v]), into `ctx`, on the calling thread (a few percent of the
    /// work; splitting it by head did not pay).
    fn attention(&self, seqs: &[Vec<u32>], qkv: &[f32], ctx: &mut [f32], scores: &mut [f32]) {
        let c = &self.config;
        let (h, heads) = (c.hidden, c.heads);
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let all = View {
            offset: 0,
            rows: qkv.len() / (3 * h),
            cols: 3 * h,
            rs: 3 * h,
            cs: 1,
        };
        let out = View::rows(ctx.len() / h, h);
        let mut start = 0;
        for seq in seqs {
            let n = seq.len();
            let rows = all.rows_at(start, n);
            for head in 0..heads {
                let q = rows.cols(head * d, d);
                let k = rows.cols(h + head * d, d);
                let v = rows.cols(2 * h + head * d, d);
                let sv = View::rows(n, n);
                gemm(scale, qkv, q, qkv, k.t(), 0.0, scores, sv);
                for r in scores[..n * n].chunks_exact_mut(n) {
                    math::softmax(r);
                }
                let o = out.rows_at(start, n).cols(head * d, d);
                gemm(1.0, scores, sv, qkv, v, 0.0, ctx, o);
            }
            start += n;
        }
    }
}
