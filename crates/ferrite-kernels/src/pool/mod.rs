//! Pooling: AVERAGE_POOL_2D, MAX_POOL_2D.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
