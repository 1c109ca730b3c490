//! Which quantisation scheme a converter applied, read back from tensor
//! dtypes and quantisation parameters.

use ferrite_format::{Model, TensorType};
use serde::Serialize;

pub const NONE: &str = "none (float)";
pub const FLOAT16: &str = "float16 weights (DEQUANTIZE)";
pub const DYNAMIC_RANGE: &str = "dynamic-range (int8 weights, float activations)";
pub const INT8_IO: &str = "full-integer (INT8 io)";
pub const UINT8_IO: &str = "full-integer (UINT8 io)";
pub const FLOAT_IO: &str = "full-integer (float io)";
pub const INT16X8: &str = "int16x8";
pub const MIXED: &str = "mixed";

/// The model's quantisation scheme and how its parameters are laid out.
#[derive(Debug, Clone, Serialize)]
pub struct QuantSummary {
    /// One of the constants of this module.
    pub kind: &'static str,
    /// Tensors with affine parameters: one scale, or one per slice.
    pub per_tensor: usize,
    pub per_axis: usize,
}

/// What the tensors of all subgraphs show.
#[derive(Default)]
struct Evidence {
    /// Quantised int8/uint8 tensors computed at run time.
    int8_activations: bool,
    /// Quantised int16 tensors computed at run time.
    int16_activations: bool,
    /// A float result of anything but DEQUANTIZE: real float compute,
    /// as opposed to a dequantised model output.
    float_compute: bool,
    float16_weights: bool,
    /// Quantised int8 (or int4) constants.
    int8_weights: bool,
}

pub fn summarize(model: &Model<'_>) -> QuantSummary {
    let mut ev = Evidence::default();
    let (mut per_tensor, mut per_axis) = (0, 0);
    for sg in &model.subgraphs {
        for t in &sg.tensors {
            let constant = !model.buffer_data(t.buffer).is_empty();
            let affine = t.quantization.as_ref().filter(|q| q.is_affine());
            if let Some(q) = affine {
                if q.is_per_axis() {
                    per_axis += 1;
                } else {
                    per_tensor += 1;
                }
            }
            let quantized = affine.is_some();
            match (t.dtype, constant) {
                (TensorType::Int8 | TensorType::Uint8, false) if quantized => {
                    ev.int8_activations = true
                }
                (TensorType::Int16, false) if quantized => ev.int16_activations = true,
                (TensorType::Int8 | TensorType::Int4, true) if quantized => ev.int8_weights = true,
                (TensorType::Float16, true) => ev.float16_weights = true,
                _ => {}
            }
        }
        for op in &sg.operators {
            let code = &model.operator_codes[op.opcode_index as usize];
            if code.display_name() == "DEQUANTIZE" {
                continue;
            }
            ev.float_compute |= op.outputs.iter().any(|&o| {
                let t = &sg.tensors[o as usize];
                t.dtype == TensorType::Float32 && model.buffer_data(t.buffer).is_empty()
            });
        }
    }
    QuantSummary {
        kind: classify(&ev, io_type(model)),
        per_tensor,
        per_axis,
    }
}

/// The integer type the primary subgraph exchanges with the caller, if any.
fn io_type(model: &Model<'_>) -> Option<TensorType> {
    let sg = &model.subgraphs[0];
    let io: Vec<TensorType> = sg
        .inputs
        .iter()
        .chain(&sg.outputs)
        .map(|&i| sg.tensors[i as usize].dtype)
        .collect();
    [TensorType::Int8, TensorType::Uint8]
        .into_iter()
        .find(|t| io.contains(t))
}

fn classify(ev: &Evidence, io: Option<TensorType>) -> &'static str {
    if ev.int8_activations || ev.int16_activations {
        // Integer activations next to float compute or float16 weights, or
        // two activation widths, is more than one scheme.
        let both = ev.int8_activations && ev.int16_activations;
        if ev.float_compute || ev.float16_weights || both {
            return MIXED;
        }
        if ev.int16_activations {
            return INT16X8;
        }
        return match io {
            Some(TensorType::Int8) => INT8_IO,
            Some(TensorType::Uint8) => UINT8_IO,
            _ => FLOAT_IO,
        };
    }
    match (ev.int8_weights, ev.float16_weights) {
        (true, true) => MIXED,
        (true, false) => DYNAMIC_RANGE,
        (false, true) => FLOAT16,
        (false, false) => NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let ev = |a8, a16, fc, f16, w8| Evidence {
            int8_activations: a8,
            int16_activations: a16,
            float_compute: fc,
            float16_weights: f16,
            int8_weights: w8,
        };
        let i8 = Some(TensorType::Int8);
        assert_eq!(classify(&ev(false, false, true, false, false), None), NONE);
        assert_eq!(
            classify(&ev(false, false, true, true, false), None),
            FLOAT16
        );
        assert_eq!(
            classify(&ev(false, false, true, false, true), None),
            DYNAMIC_RANGE
        );
        assert_eq!(classify(&ev(true, false, false, false, true), i8), INT8_IO);
        let u8 = Some(TensorType::Uint8);
        assert_eq!(classify(&ev(true, false, false, false, true), u8), UINT8_IO);
        assert_eq!(
            classify(&ev(true, false, false, false, true), None),
            FLOAT_IO
        );
        assert_eq!(
            classify(&ev(false, true, false, false, true), None),
            INT16X8
        );
        assert_eq!(classify(&ev(true, false, true, false, true), i8), MIXED);
    }
}
