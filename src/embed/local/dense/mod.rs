//! Dense layers (`out = act(x · wᵀ + bias)`, x: n × k token rows, w: m × k in
//! PyTorch's Linear layout) on weights packed once at load. The layout is panels of
//! [`PANEL`] output features: panel p holds, for each input index j, the weights
//! `w[PANEL·p + c][j]` of its features side by side (features past m are zero), so a
//! tile of up to [`MAX_ROWS`] token rows × one panel streams the panel once, with every
//! accumulator in a register; rows are read in place (no packing per call) and the
//! panel in blocks of [`K_BLOCK`] inputs that stay in L1. A query is ~32 tokens: the
//! `gemm` crate, which repacks both operands on every call, took 8.1–8.3 ms for a
//! 20-word query on 2 threads, this 5.3–5.7 ms; on batches of 32 long texts it is
//! about 9% slower than `gemm` (55–58 vs 61–63 embeddings/s on one thread).
//!
//! The kernels: `avx512.rs` and `avx2.rs` (the only `unsafe` here, chosen once at run
//! time by CPU feature) and [`scalar`], the reference they are tested against and the
//! fallback elsewhere.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use std::sync::OnceLock;

/// Output features per panel.
pub const PANEL: usize = 64;
/// Token rows a kernel takes at once.
pub const MAX_ROWS: usize = 6;
/// Token rows per cache block (8 tiles).
const ROW_BLOCK: usize = 16 * MAX_ROWS;
/// Input indices per cache block (a 32 KiB part of a panel).
pub const K_BLOCK: usize = 128;

/// How many threads a dense layer may use: 1 runs on the calling thread; more split
/// its panels over the threads of the current rayon pool (the edge's, see
/// `edge::CpuPool::wide`), worth it only when one short sequence is embedded alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

/// What follows a dense layer elementwise (done by the thread that computed the
/// values, so a split layer splits its activation too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    None,
    Gelu,
}

/// One tile of a product: `rows` (1..=MAX_ROWS) token rows of `x` (row r's `k`
/// inputs at `x[r * xs..]`) times `k` input indices of one panel `w` (k × PANEL),
/// plus `bias` (PANEL) when given, else plus what the destination holds (a later
/// block of input indices).
pub struct Tile<'a> {
    pub x: &'a [f32],
    pub xs: usize,
    pub rows: usize,
    pub k: usize,
    pub w: &'a [f32],
    pub bias: Option<&'a [f32]>,
}

impl Tile<'_> {
    /// Panics unless the slices hold what the fields say and `width` columns of
    /// `rows` rows of stride `ld` fit in `dst`: every kernel calls it first.
    pub fn check(&self, dst: &[f32], ld: usize, width: usize) {
        assert!((1..=MAX_ROWS).contains(&self.rows) && self.k <= self.xs);
        assert!(self.x.len() >= (self.rows - 1) * self.xs + self.k);
        assert!(self.w.len() == self.k * PANEL);
        assert!(self.bias.is_none_or(|b| b.len() == PANEL));
        assert!(width <= PANEL && width <= ld && dst.len() >= (self.rows - 1) * ld + width);
    }
}

/// Computes a tile into the first `width` columns of `dst` (row stride `ld`).
pub type Kernel = fn(&Tile, &mut [f32], usize, usize);

/// A dense layer's weights and bias, packed.
pub struct Dense {
    panels: Vec<f32>,
    bias: Vec<f32>,
    pub out: usize,
    pub inp: usize,
}

impl Dense {
    /// Packs `w` (out × inp, row-major) and `bias` (out).
    pub fn new(w: &[f32], bias: &[f32], out: usize, inp: usize) -> Dense {
        assert_eq!(w.len(), out * inp, "weight shape");
        assert_eq!(bias.len(), out, "bias shape");
        let count = out.div_ceil(PANEL);
        let mut panels = vec![0.0f32; count * inp * PANEL];
        for (f, row) in w.chunks_exact(inp.max(1)).enumerate().take(out) {
            let (p, c) = (f / PANEL, f % PANEL);
            for (j, &v) in row.iter().enumerate() {
                panels[(p * inp + j) * PANEL + c] = v;
            }
        }
        let mut padded = vec![0.0f32; count * PANEL];
        padded[..out].copy_from_slice(bias);
        Dense {
            panels,
            bias: padded,
            out,
            inp,
        }
    }

    fn panel_count(&self) -> usize {
        self.out.div_ceil(PANEL)
    }

    /// Features `from..to` (panel-aligned `from`) of every row of `x` (n × inp) into
    /// `dst` (n × (to - from), row-major), with `kernel`.
    fn product_with(
        &self,
        kernel: Kernel,
        x: &[f32],
        n: usize,
        from: usize,
        to: usize,
        dst: &mut [f32],
    ) {
        let k = self.inp;
        let ld = to - from;
        assert!(from.is_multiple_of(PANEL) && from <= to && to <= self.out);
        assert!(x.len() >= n * k && dst.len() >= n * ld);
        // Blocks of rows small enough for L2 (a panel is reread by every tile of
        // a block, the block by every panel): without them a long batch streams its
        // rows from L3 once per panel.
        for block in (0..n).step_by(ROW_BLOCK) {
            let end = (block + ROW_BLOCK).min(n);
            for p in from / PANEL..to.div_ceil(PANEL) {
                let c0 = p * PANEL - from;
                let width = PANEL.min(to - p * PANEL);
                let panel = &self.panels[p * k * PANEL..(p + 1) * k * PANEL];
                let b = &self.bias[p * PANEL..(p + 1) * PANEL];
                // Input indices in blocks whose part of the panel stays in L1 while
                // every tile of the row block goes over it.
                for kb in (0..k).step_by(K_BLOCK) {
                    let kc = K_BLOCK.min(k - kb);
                    let w = &panel[kb * PANEL..(kb + kc) * PANEL];
                    let bias = (kb == 0).then_some(b);
                    let mut r = block;
                    while r < end {
                        let rows = (end - r).min(MAX_ROWS);
                        let tile = Tile {
                            x: &x[r * k + kb..(r + rows) * k],
                            xs: k,
                            rows,
                            k: kc,
                            w,
                            bias,
                        };
                        kernel(&tile, &mut dst[r * ld + c0..], ld, width);
                        r += rows;
                    }
                }
            }
        }
    }

    /// `out = act(x · wᵀ + bias)` for `n` rows of `x`, split over `threads`.
    pub fn forward(&self, threads: Threads, act: Act, x: &[f32], n: usize, out: &mut [f32]) {
        let m = self.out;
        let out = &mut out[..n * m];
        let kernel = kernel();
        let parts = threads.0.clamp(1, self.panel_count().div_ceil(2).max(1));
        if parts == 1 {
            self.product_with(kernel, x, n, 0, m, out);
            if act == Act::Gelu {
                super::math::gelu(out);
            }
            return;
        }
        // Whole panels per part; each part writes its own buffer (its columns are
        // not contiguous in `out`), then the parts are laid side by side.
        let step = self.panel_count().div_ceil(parts) * PANEL;
        let ranges: Vec<(usize, usize)> = (0..m)
            .step_by(step)
            .map(|c| (c, (c + step).min(m)))
            .collect();
        let mut bufs: Vec<Vec<f32>> = ranges.iter().map(|(a, b)| vec![0.0; n * (b - a)]).collect();
        rayon::scope(|s| {
            for (&(a, b), buf) in ranges.iter().zip(bufs.iter_mut()) {
                s.spawn(move |_| {
                    self.product_with(kernel, x, n, a, b, buf);
                    if act == Act::Gelu {
                        super::math::gelu(buf);
                    }
                });
            }
        });
        for (r, row) in out.chunks_exact_mut(m).enumerate() {
            for (&(a, b), buf) in ranges.iter().zip(&bufs) {
                row[a..b].copy_from_slice(&buf[r * (b - a)..(r + 1) * (b - a)]);
            }
        }
    }
}

/// The fastest kernel this CPU runs, chosen once.
pub fn kernel() -> Kernel {
    static CHOSEN: OnceLock<Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| available().last().map_or(scalar as Kernel, |&(_, k)| k))
}

/// Every kernel this CPU runs, slowest first, by name.
pub fn available() -> Vec<(&'static str, Kernel)> {
    let mut all: Vec<(&'static str, Kernel)> = vec![("scalar", scalar)];
    #[cfg(target_arch = "x86_64")]
    {
        all.extend(avx2::kernel().map(|k| ("avx2+fma", k)));
        all.extend(avx512::kernel().map(|k| ("avx512", k)));
    }
    all
}

/// The reference kernel.
pub fn scalar(t: &Tile, dst: &mut [f32], ld: usize, width: usize) {
    t.check(dst, ld, width);
    for r in 0..t.rows {
        let mut acc = [0.0f32; PANEL];
        match t.bias {
            Some(b) => acc.copy_from_slice(b),
            None => acc[..width].copy_from_slice(&dst[r * ld..r * ld + width]),
        }
        for (j, &xv) in t.x[r * t.xs..r * t.xs + t.k].iter().enumerate() {
            for (a, &wv) in acc.iter_mut().zip(&t.w[j * PANEL..(j + 1) * PANEL]) {
                *a += xv * wv;
            }
        }
        dst[r * ld..r * ld + width].copy_from_slice(&acc[..width]);
    }
}

#[cfg(test)]
mod tests;
