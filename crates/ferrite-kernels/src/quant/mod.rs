//! Quantization: QUANTIZE, DEQUANTIZE and fixed-point helpers.

pub mod fixedpoint;

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
