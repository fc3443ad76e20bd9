//! Vector storage of one index part, in the index's precision, and the distance
//! functions HNSW calls. Node ids are dense `u32` row numbers.
//!
//! What each precision keeps in memory:
//! - float32: the vectors (`4 * dim` bytes each). Cosine vectors are normalized on
//!   insert so cosine distance is `1 - dot`.
//! - float16: the vectors as IEEE half (`2 * dim`); queries stay f32 and the kernels
//!   convert stored halves on the fly (F16C), so only the stored side is rounded.
//! - int8: codes (`dim` bytes) plus one f32 code norm (for cosine) in the *hot* arrays
//!   every traversal step touches, and a full-precision *cold* copy (`4 * dim`) read
//!   only to rescore the final candidates (a few hundred rows per query) and to retrain
//!   the scale. The cold copy is what lets int8 reach f32's recall; it is kept apart
//!   (`crate::rows`), in a scratch file read through the page cache once the process
//!   names a directory for it, in memory otherwise.

use half::f16;

use crate::distance::{self, Kernels};
use crate::metric::{Metric, Precision};
use crate::quant::{train_sample_rows, Int8Quantizer};
use crate::rows::F32Rows;

/// A query (or a stored node used as one) prepared for distance computations.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Full-precision query (normalized for cosine).
    pub f: Vec<f32>,
    /// int8 codes of the query (int8 indexes only).
    pub c: Vec<i8>,
    /// Norm of `c` (int8 cosine).
    pub cn: f32,
    /// The stored node this query was loaded from, if any.
    pub node: Option<u32>,
}

pub struct VectorStore {
    dim: usize,
    metric: Metric,
    precision: Precision,
    len: usize,
    /// float32 rows; for int8 the cold full-precision copy (paged when it can be).
    f32s: F32Rows,
    f16s: Vec<f16>,
    i8s: Vec<i8>,
    i8_norms: Vec<f32>,
    quant: Int8Quantizer,
    /// `len` when the int8 scale was last trained (0 = never).
    trained_at: usize,
    k: &'static Kernels,
}

/// What [`VectorStore::from_parts`] takes (a snapshot's arrays, already copied).
pub(crate) struct StoreParts {
    pub dim: usize,
    pub metric: Metric,
    pub precision: Precision,
    pub len: usize,
    pub f32s: Vec<f32>,
    pub f16s: Vec<f16>,
    pub i8s: Vec<i8>,
    pub i8_norms: Vec<f32>,
    pub scale: f32,
    pub trained_at: usize,
}

impl VectorStore {
    pub fn new(dim: usize, metric: Metric, precision: Precision) -> VectorStore {
        VectorStore {
            dim,
            metric,
            precision,
            len: 0,
            f32s: Self::f32_rows(precision, Vec::new()),
            f16s: Vec::new(),
            i8s: Vec::new(),
            i8_norms: Vec::new(),
            quant: Int8Quantizer { scale: 1.0 },
            trained_at: 0,
            k: distance::kernels(),
        }
    }

    /// Where rows of `precision` keep their full-precision cells: int8's cold copy
    /// is paged when it can be; float32 rows are what traversal reads.
    fn f32_rows(precision: Precision, cells: Vec<f32>) -> F32Rows {
        match precision {
            Precision::Int8 => F32Rows::cold(cells),
            _ => F32Rows::ram(cells),
        }
    }

    /// Whether int8's full-precision copy lives in the page cache (not in memory).
    pub fn cold_rows_paged(&self) -> bool {
        self.f32s.is_paged()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn metric(&self) -> Metric {
        self.metric
    }
    pub fn precision(&self) -> Precision {
        self.precision
    }
    pub fn quantizer(&self) -> Option<Int8Quantizer> {
        (self.precision == Precision::Int8).then_some(self.quant)
    }

    /// Normalizes for cosine; other metrics take the vector as is.
    pub fn canonical(&self, v: &[f32]) -> Vec<f32> {
        let mut out = v.to_vec();
        if self.metric == Metric::Cosine {
            distance::normalize(&mut out);
        }
        out
    }

    /// Appends a row and returns its node id.
    pub fn push(&mut self, v: &[f32]) -> u32 {
        assert_eq!(v.len(), self.dim, "caller checks the dimension");
        let v = self.canonical(v);
        let node = self.len as u32;
        match self.precision {
            Precision::Float32 => self.f32s.extend(&v),
            Precision::Float16 => {
                crate::huge_pages::reserve(&mut self.f16s, self.dim);
                self.f16s.extend(v.iter().map(|x| f16::from_f32(*x)));
            }
            Precision::Int8 => {
                self.f32s.extend(&v);
                let start = self.i8s.len();
                self.i8s.resize(start + self.dim, 0);
                self.quant.quantize(&v, &mut self.i8s[start..]);
                let n = code_norm(self.k, &self.i8s[start..]);
                self.i8_norms.push(n);
            }
        }
        self.len += 1;
        if self.precision == Precision::Int8 && self.len >= 2 * self.trained_at.max(1) {
            self.retrain();
        }
        node
    }

    /// Retrains the int8 scale on a sample of the full-precision rows (skipping zero
    /// rows, which are graph entities) and re-encodes every row.
    pub fn retrain(&mut self) {
        if self.precision != Precision::Int8 {
            return;
        }
        let rows = &self.f32s[..self.len * self.dim];
        self.quant = train_and_encode(self.k, rows, self.dim, &mut self.i8s, &mut self.i8_norms);
        self.trained_at = self.len;
    }

    /// Prepares a query vector (normalizes for cosine, quantizes for int8).
    pub fn prepare(&self, v: &[f32]) -> Query {
        let mut q = Query {
            f: self.canonical(v),
            ..Query::default()
        };
        if self.precision == Precision::Int8 {
            q.c = vec![0; self.dim];
            self.quant.quantize(&q.f, &mut q.c);
            q.cn = code_norm(self.k, &q.c);
        }
        q
    }

    /// Distance between two stored nodes. `scratch` caches `a` converted to a query
    /// where the precision needs it (float16), so calls with the same `a` are cheap.
    #[inline]
    pub fn node_distance(&self, a: u32, b: u32, scratch: &mut Query) -> f32 {
        let ra = a as usize * self.dim..(a as usize + 1) * self.dim;
        match self.precision {
            Precision::Float32 => {
                let rb = b as usize * self.dim..(b as usize + 1) * self.dim;
                f32_distance(self.k, self.metric, &self.f32s[ra], &self.f32s[rb])
            }
            Precision::Float16 | Precision::Int8 => {
                if scratch.node != Some(a) {
                    self.load_query(a, scratch);
                }
                self.distance(scratch, b)
            }
        }
    }

    /// Fills `q` with stored node `node` (as if it were the query).
    pub fn load_query(&self, node: u32, q: &mut Query) {
        q.node = Some(node);
        let r = node as usize * self.dim..(node as usize + 1) * self.dim;
        match self.precision {
            Precision::Float32 => {
                q.f.clear();
                q.f.extend_from_slice(&self.f32s[r]);
            }
            Precision::Float16 => {
                q.f.resize(self.dim, 0.0);
                half::slice::HalfFloatSliceExt::convert_to_f32_slice(&self.f16s[r], &mut q.f);
            }
            Precision::Int8 => {
                q.c.clear();
                q.c.extend_from_slice(&self.i8s[r]);
                q.cn = self.i8_norms[node as usize];
            }
        }
    }

    /// An empty store of `precision` for this store's rows; for int8 its scale is
    /// trained now on a sample of these rows and holds until the rows double.
    pub(crate) fn empty_like(&self, precision: Precision) -> VectorStore {
        let mut out = VectorStore::new(self.dim, self.metric, precision);
        if precision == Precision::Int8 && self.len > 0 {
            let rows: Vec<Vec<f32>> = train_sample_rows(self.len)
                .map(|r| self.vector(r as u32))
                .filter(|row| row.iter().any(|x| *x != 0.0))
                .collect();
            out.quant = Int8Quantizer::train(rows.iter().map(Vec::as_slice));
            out.trained_at = self.len;
        }
        out
    }

    /// int8 codes of every float32 row, for guiding a batch's insertion searches
    /// (`Hnsw::link_batch`): a quarter of the bytes per distance, with the candidates
    /// then re-ranked exactly. The copy holds codes and norms only (no full-precision
    /// rows), so only [`VectorStore::distance`], [`VectorStore::load_query`] and
    /// [`VectorStore::prefetch`] may be used on it. None for other precisions.
    pub(crate) fn int8_guide(&self) -> Option<VectorStore> {
        if self.precision != Precision::Float32 {
            return None;
        }
        let mut out = VectorStore::new(self.dim, self.metric, Precision::Int8);
        out.f32s = F32Rows::ram(Vec::new());
        out.i8s = vec![0; self.len * self.dim];
        out.i8_norms = vec![0.0; self.len];
        let rows = &self.f32s[..self.len * self.dim];
        out.quant = train_and_encode(self.k, rows, self.dim, &mut out.i8s, &mut out.i8_norms);
        out.len = self.len;
        out.trained_at = self.len;
        Some(out)
    }

    /// A copy with only the rows in `kept` (ascending), renumbered densely.
    pub(crate) fn retain_rows(&self, kept: &[u32]) -> VectorStore {
        let d = self.dim;
        VectorStore {
            dim: d,
            metric: self.metric,
            precision: self.precision,
            len: kept.len(),
            f32s: Self::f32_rows(self.precision, keep_rows(&self.f32s, kept, d)),
            f16s: keep_rows(&self.f16s, kept, d),
            i8s: keep_rows(&self.i8s, kept, d),
            i8_norms: keep_rows(&self.i8_norms, kept, 1),
            quant: self.quant,
            trained_at: self.trained_at.min(kept.len()),
            k: self.k,
        }
    }

    /// The stored arrays, for a snapshot: (f32 rows or int8's full-precision copy,
    /// f16 rows, int8 codes, int8 code norms).
    pub(crate) fn arrays(&self) -> (&[f32], &[f16], &[i8], &[f32]) {
        (&self.f32s[..], &self.f16s, &self.i8s, &self.i8_norms)
    }

    /// int8 scale and the row count it was trained at.
    pub(crate) fn training(&self) -> (f32, usize) {
        (self.quant.scale, self.trained_at)
    }

    /// A store from a snapshot's arrays; checks that their lengths agree.
    pub(crate) fn from_parts(p: StoreParts) -> Result<VectorStore, &'static str> {
        let cells = p.len.checked_mul(p.dim).ok_or("row count overflows")?;
        let (f32s, f16s, i8s, norms) = match p.precision {
            Precision::Float32 => (cells, 0, 0, 0),
            Precision::Float16 => (0, cells, 0, 0),
            Precision::Int8 => (cells, 0, cells, p.len),
        };
        if p.f32s.len() != f32s
            || p.f16s.len() != f16s
            || p.i8s.len() != i8s
            || p.i8_norms.len() != norms
        {
            return Err("vector arrays do not match the row count and dimension");
        }
        if !(p.scale.is_finite() && p.scale > 0.0) || p.trained_at > p.len {
            return Err("bad int8 training figures");
        }
        Ok(VectorStore {
            dim: p.dim,
            metric: p.metric,
            precision: p.precision,
            len: p.len,
            f32s: Self::f32_rows(p.precision, p.f32s),
            f16s: p.f16s,
            i8s: p.i8s,
            i8_norms: p.i8_norms,
            quant: Int8Quantizer { scale: p.scale },
            trained_at: p.trained_at,
            k: distance::kernels(),
        })
    }

    /// A copy of this store in another precision, from the best vectors kept (the
    /// graph built on this store stays valid: same rows, same node ids).
    pub fn to_precision(&self, precision: Precision) -> VectorStore {
        let mut out = VectorStore::new(self.dim, self.metric, precision);
        for node in 0..self.len as u32 {
            out.push(&self.vector(node));
        }
        out.retrain();
        out
    }

    /// Whether storing `v` would give exactly row `node` (so an upsert with the same
    /// vector can keep its node).
    pub fn stores_same(&self, node: u32, v: &[f32]) -> bool {
        let c = self.canonical(v);
        let r = node as usize * self.dim..(node as usize + 1) * self.dim;
        match self.precision {
            Precision::Float16 => c
                .iter()
                .zip(&self.f16s[r])
                .all(|(a, b)| f16::from_f32(*a) == *b),
            Precision::Float32 | Precision::Int8 => self.f32s[r] == c[..],
        }
    }

    /// Full-precision copy of a stored vector (as stored: normalized for cosine).
    pub fn vector(&self, node: u32) -> Vec<f32> {
        let mut q = Query::default();
        match self.precision {
            Precision::Float32 | Precision::Float16 => {
                self.load_query(node, &mut q);
                q.f
            }
            Precision::Int8 => self.row_f32(node).to_vec(),
        }
    }

    fn row_f32(&self, node: u32) -> &[f32] {
        &self.f32s[node as usize * self.dim..(node as usize + 1) * self.dim]
    }

    /// Prefetches the hot row of `node`.
    #[inline]
    pub fn prefetch(&self, node: u32) {
        let n = node as usize;
        match self.precision {
            Precision::Float32 => distance::prefetch(&self.f32s[n * self.dim..]),
            Precision::Float16 => distance::prefetch(&self.f16s[n * self.dim..]),
            Precision::Int8 => distance::prefetch(&self.i8s[n * self.dim..]),
        }
    }

    /// Distance from a prepared query to a node in the precision the graph uses.
    #[inline]
    pub fn distance(&self, q: &Query, node: u32) -> f32 {
        let n = node as usize;
        let r = n * self.dim..(n + 1) * self.dim;
        let k = self.k;
        match self.precision {
            Precision::Float32 => f32_distance(k, self.metric, &q.f, &self.f32s[r]),
            Precision::Float16 => {
                let x = &self.f16s[r];
                match self.metric {
                    Metric::Euclidean => (k.l2sq_f32_f16)(&q.f, x),
                    Metric::Cosine => 1.0 - (k.dot_f32_f16)(&q.f, x),
                    Metric::Dot => -(k.dot_f32_f16)(&q.f, x),
                }
            }
            Precision::Int8 => {
                let x = &self.i8s[r];
                match self.metric {
                    Metric::Euclidean => (k.l2sq_i8)(&q.c, x) as f32 * self.quant.product_factor(),
                    Metric::Cosine => {
                        let denom = q.cn * self.i8_norms[n];
                        if denom <= 0.0 {
                            1.0
                        } else {
                            1.0 - (k.dot_i8)(&q.c, x) as f32 / denom
                        }
                    }
                    Metric::Dot => -((k.dot_i8)(&q.c, x) as f32 * self.quant.product_factor()),
                }
            }
        }
    }

    /// Distance with the best precision kept: the cold f32 copy for int8, else as
    /// [`VectorStore::distance`]. Used to rescore final candidates.
    pub fn exact_distance(&self, q: &Query, node: u32) -> f32 {
        match self.precision {
            Precision::Int8 => f32_distance(self.k, self.metric, &q.f, self.row_f32(node)),
            _ => self.distance(q, node),
        }
    }

    /// Whether search should rescore candidates with [`VectorStore::exact_distance`].
    pub fn rescores(&self) -> bool {
        self.precision == Precision::Int8
    }

    /// Bytes touched by traversal per row (codes and norms).
    pub fn hot_bytes_per_row(&self) -> usize {
        match self.precision {
            Precision::Float32 => 4 * self.dim,
            Precision::Float16 => 2 * self.dim,
            Precision::Int8 => self.dim + 4,
        }
    }
    /// Bytes per row read only for rescoring (int8's full-precision copy).
    pub fn cold_bytes_per_row(&self) -> usize {
        match self.precision {
            Precision::Int8 => 4 * self.dim,
            _ => 0,
        }
    }
}

#[inline]
/// Rows `kept` (of `width` values each) of `a`, in order; empty stays empty (an
/// array the precision does not use).
fn keep_rows<T: Copy>(a: &[T], kept: &[u32], width: usize) -> Vec<T> {
    if a.is_empty() {
        return Vec::new();
    }
    let mut out = crate::huge_pages::with_capacity(kept.len() * width);
    for &r in kept {
        out.extend_from_slice(&a[r as usize * width..(r as usize + 1) * width]);
    }
    out
}

fn f32_distance(k: &Kernels, metric: Metric, q: &[f32], x: &[f32]) -> f32 {
    match metric {
        Metric::Euclidean => (k.l2sq_f32)(q, x),
        Metric::Cosine => 1.0 - (k.dot_f32)(q, x),
        Metric::Dot => -(k.dot_f32)(q, x),
    }
}

fn code_norm(k: &Kernels, c: &[i8]) -> f32 {
    ((k.dot_i8)(c, c) as f32).sqrt()
}

/// Trains an int8 scale on a sample of `rows` (`dim` values each; zero rows, which
/// are graph entities, skipped) and encodes every row into `codes` and `norms`.
/// The sample is borrowed: copies of it (15 MB for 10k rows of 384) would stay
/// behind as heap fragments once freed.
fn train_and_encode(
    k: &Kernels,
    rows: &[f32],
    dim: usize,
    codes: &mut [i8],
    norms: &mut [f32],
) -> Int8Quantizer {
    let n = rows.len() / dim;
    let quant = Int8Quantizer::train(
        train_sample_rows(n)
            .map(|r| &rows[r * dim..(r + 1) * dim])
            .filter(|row| row.iter().any(|x| *x != 0.0)),
    );
    for ((row, c), norm) in rows
        .chunks_exact(dim)
        .zip(codes.chunks_exact_mut(dim))
        .zip(norms.iter_mut())
    {
        quant.quantize(row, c);
        *norm = code_norm(k, c);
    }
    quant
}

#[cfg(test)]
mod tests {
    //! Each precision's distance agrees with an f32 computation within its rounding.
    use super::*;

    fn rows(n: usize, dim: usize) -> Vec<Vec<f32>> {
        let mut s = 7u64;
        (0..n)
            .map(|_| {
                (0..dim)
                    .map(|_| {
                        s = s
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn precisions_track_f32_distances() {
        let data = rows(300, 48);
        for metric in [Metric::Euclidean, Metric::Cosine, Metric::Dot] {
            let mut exact = VectorStore::new(48, metric, Precision::Float32);
            let mut half = VectorStore::new(48, metric, Precision::Float16);
            let mut int8 = VectorStore::new(48, metric, Precision::Int8);
            for r in &data {
                exact.push(r);
                half.push(r);
                int8.push(r);
            }
            let q = &data[3];
            let (qe, qh, qi) = (exact.prepare(q), half.prepare(q), int8.prepare(q));
            for node in 0..300u32 {
                let d = exact.distance(&qe, node);
                assert!((half.distance(&qh, node) - d).abs() < 2e-3 * (1.0 + d.abs()));
                assert!((int8.distance(&qi, node) - d).abs() < 0.05 * (1.0 + d.abs()));
                assert_eq!(int8.exact_distance(&qi, node), d);
            }
            assert_eq!(int8.vector(5), exact.vector(5));
        }
    }

    #[test]
    fn int8_retrains_as_data_grows() {
        let mut s = VectorStore::new(4, Metric::Euclidean, Precision::Int8);
        s.push(&[0.01, 0.0, 0.0, 0.0]);
        let first = s.quantizer().unwrap().scale;
        for i in 0..100 {
            s.push(&[i as f32, 1.0, -1.0, 0.5]);
        }
        let later = s.quantizer().unwrap().scale;
        assert!(later > 10.0 * first, "scale {first} -> {later}");
    }

    #[test]
    fn int8_guide_matches_an_int8_store_of_the_same_rows() {
        let data = rows(300, 48);
        for metric in [Metric::Euclidean, Metric::Cosine, Metric::Dot] {
            let mut exact = VectorStore::new(48, metric, Precision::Float32);
            for r in &data {
                exact.push(r);
            }
            let guide = exact.int8_guide().expect("float32 rows have a guide");
            // An int8 store trained on the same rows holds the same codes.
            let mut int8 = exact.empty_like(Precision::Int8);
            for r in &data {
                int8.push(r);
            }
            assert_eq!(guide.len(), 300);
            assert_eq!(
                guide.quantizer().unwrap().scale,
                int8.quantizer().unwrap().scale
            );
            let (mut qg, mut qi) = (Query::default(), Query::default());
            for a in [0u32, 17, 299] {
                guide.load_query(a, &mut qg);
                int8.load_query(a, &mut qi);
                let qe = exact.prepare(&data[a as usize]);
                for node in 0..300u32 {
                    let d = guide.distance(&qg, node);
                    assert_eq!(d, int8.distance(&qi, node));
                    let e = exact.distance(&qe, node);
                    assert!((d - e).abs() < 0.05 * (1.0 + e.abs()), "{d} vs {e}");
                }
            }
            assert!(int8.int8_guide().is_none());
        }
    }
}
