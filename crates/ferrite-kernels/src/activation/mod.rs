//! Activations and normalisations: RELU family, LOGISTIC, TANH, SOFTMAX, ...

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
