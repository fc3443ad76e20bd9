//! Symmetric scalar int8 quantization: `code = round(x / scale * 127)` clipped to
//! +-127, with `scale` the 99.9th percentile of |x| over a training sample.
//!
//! The sample follows upstream: every vector up to 10k, then a stride sample (about
//! 10%) capped at [`QUANT_TRAIN_SAMPLE_MAX`] vectors. Unlike upstream (which trains on
//! the first vector it sees), the owner retrains as the data grows; see
//! `vectors::VectorStore`.

use crate::limits::QUANT_TRAIN_SAMPLE_MAX;

/// Rows (vector numbers) to train on out of `n`: all of them up to 10k, else an even
/// stride of about 10% capped at [`QUANT_TRAIN_SAMPLE_MAX`].
pub fn train_sample_rows(n: usize) -> impl Iterator<Item = usize> {
    let want = if n <= 10_000 {
        n
    } else {
        (n / 10).clamp(10_000, QUANT_TRAIN_SAMPLE_MAX)
    };
    let step = if want == 0 { 1 } else { n.div_ceil(want) };
    (0..n).step_by(step.max(1))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Int8Quantizer {
    /// Values of magnitude `scale` map to +-127.
    pub scale: f32,
}

impl Int8Quantizer {
    /// Train on sample values: the scale is the 99.9th percentile of |x|.
    pub fn train<'a>(rows: impl Iterator<Item = &'a [f32]>) -> Int8Quantizer {
        let mut mags: Vec<f32> = rows
            .flat_map(|r| r.iter().map(|x| x.abs()))
            .filter(|x| x.is_finite())
            .collect();
        if mags.is_empty() {
            return Int8Quantizer { scale: 1.0 };
        }
        let rank = ((mags.len() as f64 * 0.999).ceil() as usize).clamp(1, mags.len()) - 1;
        let (_, p, _) = mags.select_nth_unstable_by(rank, f32::total_cmp);
        let mut scale = *p;
        if scale <= f32::MIN_POSITIVE {
            // All-zero sample: fall back to the largest magnitude, or 1.
            scale = mags.iter().copied().fold(0.0, f32::max);
            if scale <= f32::MIN_POSITIVE {
                scale = 1.0;
            }
        }
        Int8Quantizer { scale }
    }

    pub fn quantize(&self, src: &[f32], dst: &mut [i8]) {
        debug_assert_eq!(src.len(), dst.len());
        let f = 127.0 / self.scale;
        for (d, s) in dst.iter_mut().zip(src) {
            *d = (s * f).round().clamp(-127.0, 127.0) as i8;
        }
    }

    /// Multiplier that turns an integer dot product / squared L2 of two code vectors
    /// back into the units of the original vectors.
    pub fn product_factor(&self) -> f32 {
        let unit = self.scale / 127.0;
        unit * unit
    }
}

#[cfg(test)]
mod tests {
    //! Checks the percentile scale, clipping and the sample plan.
    use super::*;

    #[test]
    fn scale_is_high_percentile_and_outliers_clip() {
        let mut rows: Vec<Vec<f32>> = (0..100)
            .map(|i| {
                (0..10)
                    .map(|j| ((i * 10 + j) as f32 / 1000.0) - 0.5)
                    .collect()
            })
            .collect();
        rows[0][0] = 1000.0; // one outlier must not set the scale
        let q = Int8Quantizer::train(rows.iter().map(|r| r.as_slice()));
        assert!(q.scale > 0.49 && q.scale < 0.51, "scale {}", q.scale);
        let mut out = [0i8; 3];
        q.quantize(&[1000.0, -q.scale, 0.0], &mut out);
        assert_eq!(out, [127, -127, 0]);
    }

    #[test]
    fn zero_sample_gives_unit_scale() {
        let rows = [vec![0.0f32; 4]];
        let q = Int8Quantizer::train(rows.iter().map(|r| r.as_slice()));
        assert_eq!(q.scale, 1.0);
    }

    #[test]
    fn sample_plan() {
        assert_eq!(train_sample_rows(5000).count(), 5000);
        let big = train_sample_rows(1_000_000).count();
        assert!((24_000..=QUANT_TRAIN_SAMPLE_MAX).contains(&big), "{big}");
        let mid = train_sample_rows(150_000).count();
        assert!((14_000..=15_000).contains(&mid), "{mid}");
    }
}
