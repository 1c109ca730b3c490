//! Image resampling: RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
