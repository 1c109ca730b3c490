//! CONCATENATION along one axis (negative counts from the end), STRING
//! included. Rank-0 inputs stack into a vector, as LiteRT does for constant
//! scalars. The fused activation is applied to FLOAT32 outputs (LiteRT
//! rejects any); quantized inputs must share the output's quantization (no
//! requantization here).

use super::strided::Runs;
use super::util::{self, check_movable, check_same_quant, elements, one};
use crate::api::*;
use crate::common::{normalize_axis, Activation};

struct Concatenation {
    axis: i32,
    act: Activation,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    if spec.inputs.is_empty() || spec.outputs.len() != 1 {
        return invalid("CONCATENATION needs at least one input and one output");
    }
    let (axis, act) = match spec.options {
        BuiltinOptions::ConcatenationOptions(o) => {
            (o.axis, Activation::from_code(o.fused_activation_function)?)
        }
        _ => (0, Activation::None),
    };
    let out = spec.output(0)?;
    check_movable(spec, out, true)?;
    for i in 0..spec.inputs.len() {
        check_same_quant(spec, spec.input(i)?, out)?;
    }
    if act != Activation::None && out.dtype != DType::Float32 {
        return spec.unsupported(format!("fused activation {act:?} on {}", out.dtype));
    }
    Ok(Box::new(Concatenation { axis, act }))
}

/// The normalised axis and, per input, the extent along it.
fn layout(inputs: &[Option<ShapeArg<'_>>], axis: i32) -> KResult<(usize, Vec<usize>, Vec<usize>)> {
    let first = shape_input(inputs, 0)?.shape;
    if first.is_empty() {
        // Scalars: every input must be a scalar; they stack along a new axis.
        for i in 0..inputs.len() {
            if !shape_input(inputs, i)?.shape.is_empty() {
                return invalid("CONCATENATION mixes scalars and tensors");
            }
        }
        if axis != 0 && axis != -1 {
            return invalid(format!("CONCATENATION axis {axis} on scalars"));
        }
        return Ok((0, vec![inputs.len()], vec![1; inputs.len()]));
    }
    let a = normalize_axis(axis as i64, first.len())?;
    let mut out = first.to_vec();
    let mut extents = Vec::with_capacity(inputs.len());
    out[a] = 0;
    for i in 0..inputs.len() {
        let s = shape_input(inputs, i)?.shape;
        if s.len() != first.len()
            || s.iter()
                .zip(first)
                .enumerate()
                .any(|(d, (x, y))| d != a && x != y)
        {
            return invalid(format!(
                "CONCATENATION input {i} of shape {s:?} does not match {first:?} off axis {a}"
            ));
        }
        extents.push(s[a]);
        out[a] += s[a];
    }
    Ok((a, out, extents))
}

impl Kernel for Concatenation {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(layout(inputs, self.axis)?.1)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let args = util::shape_args(io);
        let (a, out_shape, extents) = layout(&args, self.axis)?;
        let outer = elements(&out_shape[..a])?;
        let inner = elements(&out_shape[a + 1..])?;
        let data: Vec<TensorRef> = (0..io.inputs.len())
            .map(|i| io.input(i))
            .collect::<KResult<_>>()?;
        let runs = Runs {
            outer,
            run_lens: extents.iter().map(|e| e * inner).collect(),
        };
        util::run(&runs, &data, io.outputs, io.par)?;
        if self.act != Activation::None {
            self.act.apply_slice(io.outputs[0].f32()?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, run_op_threads, T};
    use super::*;
    use ferrite_format::options::ConcatenationOptions;

    fn opts(axis: i32, act: i8) -> BuiltinOptions {
        BuiltinOptions::ConcatenationOptions(ConcatenationOptions {
            axis,
            fused_activation_function: act,
        })
    }

    #[test]
    fn concatenates_along_any_axis() {
        // numpy: np.concatenate([a, b], axis) with a = arange(12).reshape(2,3,2),
        // b = 100 + arange(6).reshape(2,3,1) for axis 2.
        let a: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let b: Vec<f32> = (0..6).map(|v| 100.0 + v as f32).collect();
        let out = run_op(
            build,
            "CONCATENATION",
            opts(-1, 0),
            &[Some(T::f32(&[2, 3, 2], &a)), Some(T::f32(&[2, 3, 1], &b))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![2, 3, 3]);
        assert_eq!(
            out[0].as_f32(),
            vec![
                0., 1., 100., 2., 3., 101., 4., 5., 102., 6., 7., 103., 8., 9., 104., 10., 11.,
                105.
            ]
        );
        let out = run_op(
            build,
            "CONCATENATION",
            opts(0, 0),
            &[
                Some(T::i32(&[1, 2], &[1, 2])),
                Some(T::i32(&[2, 2], &[3, 4, 5, 6])),
            ],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![3, 2]);
        assert_eq!(out[0].as_i32(), vec![1, 2, 3, 4, 5, 6]);
        let big_a: Vec<f32> = (0..128 * 1024).map(|v| v as f32).collect();
        let big_b: Vec<f32> = (0..128 * 512).map(|v| -(v as f32)).collect();
        let out = run_op_threads(
            build,
            "CONCATENATION",
            opts(1, 0),
            &[
                Some(T::f32(&[128, 1024], &big_a)),
                Some(T::f32(&[128, 512], &big_b)),
            ],
            &[T::out(DType::Float32)],
            2,
        )
        .unwrap();
        let got = out[0].as_f32();
        assert_eq!(got[1023], 1023.0);
        assert_eq!(got[1024], -0.0);
        assert_eq!(got[1536], 1024.0);
        assert_eq!(got[128 * 1536 - 1], -(128.0 * 512.0 - 1.0));
    }

    #[test]
    fn scalars_activations_and_errors() {
        let out = run_op(
            build,
            "CONCATENATION",
            opts(0, 0),
            &[Some(T::f32(&[], &[1.0])), Some(T::f32(&[], &[2.0]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![2]);
        assert_eq!(out[0].as_f32(), vec![1.0, 2.0]);
        // RELU6 clamps the float result.
        let out = run_op(
            build,
            "CONCATENATION",
            opts(0, 3),
            &[Some(T::f32(&[2], &[-1.0, 7.0])), Some(T::f32(&[1], &[3.0]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].as_f32(), vec![0.0, 6.0, 3.0]);
        assert!(run_op(
            build,
            "CONCATENATION",
            opts(0, 0),
            &[
                Some(T::f32(&[2, 2], &[0.0; 4])),
                Some(T::f32(&[2, 3], &[0.0; 6]))
            ],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "CONCATENATION",
            opts(2, 0),
            &[Some(T::f32(&[2, 2], &[0.0; 4]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(matches!(
            run_op(
                build,
                "CONCATENATION",
                opts(0, 1),
                &[Some(T::i32(&[1], &[1]))],
                &[T::out(DType::Int32)]
            ),
            Err(KernelError::Unsupported(_))
        ));
        let q1 = T::i8(&[1], &[1]).quant(&[0.5], &[1], 0);
        let q2 = T::i8(&[1], &[2]).quant(&[0.25], &[1], 0);
        let qo = T::out(DType::Int8).quant(&[0.5], &[1], 0);
        assert!(matches!(
            run_op(
                build,
                "CONCATENATION",
                opts(0, 0),
                &[Some(q1.clone()), Some(q2)],
                std::slice::from_ref(&qo)
            ),
            Err(KernelError::Unsupported(_))
        ));
        let out = run_op(
            build,
            "CONCATENATION",
            opts(0, 0),
            &[Some(q1.clone()), Some(q1)],
            &[qo],
        )
        .unwrap();
        assert_eq!(out[0].data, vec![1, 1]);
    }

    #[test]
    fn concatenates_strings_from_several_inputs() {
        let a = T::strs(&[2, 1], &["a", "b"]);
        let b = T::strs(&[2, 2], &["cc", "", "e", "ff"]);
        let out = run_op(
            build,
            "CONCATENATION",
            opts(1, 0),
            &[Some(a), Some(b)],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![2, 3]);
        assert_eq!(out[0].as_strs(), vec!["a", "cc", "", "b", "e", "ff"]);
    }
}
