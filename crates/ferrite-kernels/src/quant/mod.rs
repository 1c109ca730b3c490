//! Quantization: QUANTIZE, DEQUANTIZE and fixed-point helpers.

use crate::registry::{reg, Registration};

pub mod dequantize;
pub mod fixedpoint;
pub mod fixedpoint16;
pub mod lut8;
pub mod params;
pub mod quantize;
#[cfg(test)]
mod quantize_tests;
#[cfg(test)]
pub mod testutil;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("DEQUANTIZE", 1, 6, dequantize::build),
    reg("QUANTIZE", 1, 3, quantize::build),
];
