//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
