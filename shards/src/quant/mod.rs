//! Quantization: how full-precision vectors are turned into compact codes.
//!
//! float16 needs no training (IEEE half via the `half` crate); int8 is symmetric scalar
//! quantization with one scale trained on a sample of the data ([`Int8Quantizer`]).

mod int8;

pub use int8::{train_sample_rows, Int8Quantizer};
