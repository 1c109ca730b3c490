//! Ops that move or reinterpret data without arithmetic.

use crate::registry::{reg, Registration};

pub mod reshape;

/// This family's registry lines.
pub static OPS: &[Registration] = &[reg("RESHAPE", 1, 1, reshape::build)];
