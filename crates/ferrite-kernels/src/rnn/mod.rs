//! Recurrent layers: UNIDIRECTIONAL_SEQUENCE_LSTM.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
