//! Reductions over axes: MEAN, SUM, REDUCE_*, ARG_MAX/ARG_MIN.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
