//! Strided matrix products for attention (scores = q·kᵀ and context = scores·v per
//! head), on the `gemm` crate's SGEMM (its micro-kernels pick AVX-512, AVX2/FMA or
//! SSE at run time). The dense layers use their own packed kernels (`dense/`). The
//! `unsafe` call is here: every view is checked against its slice before it is passed.

/// A strided view of a matrix inside a slice: element (r, c) is at
/// `offset + r * rs + c * cs`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl View {
    /// A dense row-major matrix.
    pub fn rows(rows: usize, cols: usize) -> View {
        View {
            offset: 0,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of this view (no copy).
    pub fn t(self) -> View {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Columns `from..from + n` of this view.
    pub fn cols(self, from: usize, n: usize) -> View {
        View {
            offset: self.offset + from * self.cs,
            cols: n,
            ..self
        }
    }

    /// Rows `from..from + n` of this view.
    pub fn rows_at(self, from: usize, n: usize) -> View {
        View {
            offset: self.offset + from * self.rs,
            rows: n,
            ..self
        }
    }

    /// One past the last element the view reaches (0 when empty).
    fn end(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        self.offset + (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
    }
}

/// `c = alpha * a * b + beta * c` for strided views into `a_buf`, `b_buf`, `c_buf`
/// (BLAS's argument list, so the call sites read like the formula).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    alpha: f32,
    a_buf: &[f32],
    a: View,
    b_buf: &[f32],
    b: View,
    beta: f32,
    c_buf: &mut [f32],
    c: View,
) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    assert_eq!((a.rows, b.cols), (c.rows, c.cols), "output shape");
    assert!(a.end() <= a_buf.len() && b.end() <= b_buf.len() && c.end() <= c_buf.len());
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    let s = |x: usize| x as isize;
    // SAFETY: the three views were checked above to lie inside their slices (the
    // largest offset each reaches is `end() - 1`), `c_buf` is borrowed mutably and
    // so does not alias `a_buf` or `b_buf`, and the shapes agree. sgemm reads and
    // writes only the elements the views describe. `gemm` computes
    // `dst = alpha * dst + beta * lhs * rhs` (reading dst only when asked) and takes
    // column stride before row stride.
    unsafe {
        gemm::gemm(
            c.rows,
            c.cols,
            a.cols,
            c_buf.as_mut_ptr().add(c.offset),
            s(c.cs),
            s(c.rs),
            beta != 0.0,
            a_buf.as_ptr().add(a.offset),
            s(a.cs),
            s(a.rs),
            b_buf.as_ptr().add(b.offset),
            s(b.cs),
            s(b.rs),
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    //! Against a scalar reference, dense and strided.
    use super::*;

    fn reference(a: &[f32], av: View, b: &[f32], bv: View) -> Vec<f32> {
        let mut out = vec![0.0; av.rows * bv.cols];
        for i in 0..av.rows {
            for j in 0..bv.cols {
                let mut s = 0.0f64;
                for k in 0..av.cols {
                    s += a[av.offset + i * av.rs + k * av.cs] as f64
                        * b[bv.offset + k * bv.rs + j * bv.cs] as f64;
                }
                out[i * bv.cols + j] = s as f32;
            }
        }
        out
    }

    #[test]
    fn matches_the_scalar_reference() {
        let mut rng = kektordb_shards::rng::SplitMix64(3);
        let mut r = || (rng.next_u64() % 2000) as f32 / 1000.0 - 1.0;
        for (n, k, m) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 384, 48)] {
            let x: Vec<f32> = (0..n * k).map(|_| r()).collect();
            let w: Vec<f32> = (0..m * k).map(|_| r()).collect();
            let (xv, wv) = (View::rows(n, k), View::rows(m, k).t());
            let mut out = vec![0.0; n * m];
            gemm(1.0, &x, xv, &w, wv, 0.0, &mut out, View::rows(n, m));
            let want = reference(&x, xv, &w, wv);
            for i in 0..n * m {
                assert!(
                    (out[i] - want[i]).abs() < 1e-4 * (1.0 + want[i].abs()),
                    "{n}x{k}x{m} at {i}"
                );
            }
        }
        // A head slice: columns 8..16 of a 10 x 32 matrix times the transpose of
        // columns 8..16 of another.
        let q: Vec<f32> = (0..320).map(|_| r()).collect();
        let kk: Vec<f32> = (0..320).map(|_| r()).collect();
        let qv = View::rows(10, 32).cols(8, 8);
        let kv = View::rows(10, 32).cols(8, 8).t();
        let mut s = vec![0.0; 100];
        gemm(1.0, &q, qv, &kk, kv, 0.0, &mut s, View::rows(10, 10));
        let want = reference(&q, qv, &kk, kv);
        for i in 0..100 {
            assert!((s[i] - want[i]).abs() < 1e-4);
        }
    }

    #[test]
    #[should_panic]
    fn a_view_past_its_slice_is_refused() {
        let a = vec![0.0; 10];
        let mut c = vec![0.0; 4];
        gemm(
            1.0,
            &a,
            View::rows(2, 6),
            &a,
            View::rows(6, 2),
            0.0,
            &mut c,
            View::rows(2, 2),
        );
    }
}
