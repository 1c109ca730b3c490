//! Quantization: QUANTIZE, DEQUANTIZE and fixed-point helpers.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
