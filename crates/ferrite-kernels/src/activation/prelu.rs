//! PRELU: `x >= 0 ? x : x * alpha` with alpha broadcast against x (usually
//! one slope per channel). Float32 only; the output shape is the broadcast
//! of both, as in LiteRT.

use crate::api::*;
use crate::common::broadcast_shapes;
use crate::elementwise::broadcast::binary;

struct Prelu;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    for t in [spec.input(0)?, spec.input(1)?, spec.output(0)?] {
        if t.dtype != DType::Float32 {
            return spec.unsupported(format!("dtype {}", t.dtype));
        }
    }
    Ok(Box::new(Prelu))
}

impl Kernel for Prelu {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let alpha = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(x.shape, alpha.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let alpha = io.input(1)?;
        let par = io.par;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.f32()?;
        binary(
            par,
            x.f32()?,
            x.shape,
            alpha.f32()?,
            alpha.shape,
            o,
            &shape,
            |v, a| if v >= 0.0 { v } else { v * a },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};

    #[test]
    fn per_channel_slopes_broadcast() {
        let (xs, als): (&[usize], &[usize]) = (&[1, 2, 2, 2], &[1, 1, 2]);
        let k = spec_build(
            build,
            "PRELU",
            BuiltinOptions::None,
            &[(DType::Float32, xs), (DType::Float32, als)],
            DType::Float32,
        )
        .unwrap();
        let x = [-1.0, -1.0, 2.0, -4.0, -0.0, f32::NAN, -2.0, 3.0];
        let (s, o) = run_kernel(
            k.as_ref(),
            &[
                (DType::Float32, xs, f32_bytes(&x)),
                (DType::Float32, als, f32_bytes(&[0.5, 0.25])),
            ],
            DType::Float32,
        )
        .unwrap();
        assert_eq!(s, vec![1, 2, 2, 2]);
        let o = bytes_f32(&o);
        assert_eq!(o[..5], [-0.5, -0.25, 2.0, -1.0, -0.0]);
        assert!(o[4].is_sign_negative() && o[5].is_nan());
        assert_eq!(o[6..], [-1.0, 3.0]);
        let r = spec_build(
            build,
            "PRELU",
            BuiltinOptions::None,
            &[(DType::Int8, xs), (DType::Int8, als)],
            DType::Int8,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
