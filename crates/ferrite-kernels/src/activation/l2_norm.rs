//! L2_NORMALIZATION over the last axis, float32:
//! `x / max(sqrt(sum(x^2)), 1e-6)`, summing in order as LiteRT does.
//! LiteRT rejects fused activations here, so do we (as unsupported).

use crate::api::*;
use crate::common::Activation;
use crate::elementwise::broadcast::{par_chunks_mut, PAR_MIN};

/// LiteRT's fixed epsilon on the norm.
const EPSILON: f32 = 1e-6;

struct L2Norm;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let (x, out) = (spec.input(0)?, spec.output(0)?);
    if x.dtype != DType::Float32 || out.dtype != DType::Float32 {
        return spec.unsupported(format!("dtype {} to {}", x.dtype, out.dtype));
    }
    if let BuiltinOptions::L2NormOptions(o) = spec.options {
        let act = Activation::from_code(o.fused_activation_function)?;
        if act != Activation::None {
            return spec.unsupported(format!("fused activation {act:?}"));
        }
    }
    Ok(Box::new(L2Norm))
}

impl Kernel for L2Norm {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.shape.is_empty() {
            return invalid("L2_NORMALIZATION needs an input of rank 1 or more");
        }
        Ok(Some(vec![x.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let xt = io.input(0)?;
        let depth = xt.shape.last().copied().unwrap_or(1);
        let x = xt.f32()?;
        let par = io.par;
        let o = io.outputs[0].f32()?;
        if depth == 0 || o.is_empty() {
            return Ok(());
        }
        par_chunks_mut(par, o, depth, PAR_MIN, |start, chunk| {
            for (r, orow) in chunk.chunks_mut(depth).enumerate() {
                let xrow = &x[start + r * depth..][..depth];
                let sq: f32 = xrow.iter().fold(0.0, |s, &v| s + v * v);
                let norm = sq.sqrt();
                let norm = if norm < EPSILON { EPSILON } else { norm };
                for (o, &v) in orow.iter_mut().zip(xrow) {
                    *o = v / norm;
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};

    #[test]
    fn normalises_rows_with_epsilon() {
        let shape: &[usize] = &[4, 3];
        let k = spec_build(
            build,
            "L2_NORMALIZATION",
            BuiltinOptions::None,
            &[(DType::Float32, shape)],
            DType::Float32,
        )
        .unwrap();
        let x = [
            0.0, 0.0, 0.0, 1e-7, 0.0, 0.0, 3.0, 4.0, 0.0, -1.0, 2.0, -2.0,
        ];
        let (_, o) = run_kernel(
            k.as_ref(),
            &[(DType::Float32, shape, f32_bytes(&x))],
            DType::Float32,
        )
        .unwrap();
        // ai_edge_litert gives [0 0 0], [0.1 0 0], [0.6 0.8 0].
        let want = [
            0.0,
            0.0,
            0.0,
            0.1,
            0.0,
            0.0,
            0.6,
            0.8,
            0.0,
            -1.0 / 3.0,
            2.0 / 3.0,
            -2.0 / 3.0,
        ];
        for (g, w) in bytes_f32(&o).iter().zip(want) {
            assert!((g - w).abs() <= 1e-7, "{g} vs {w}");
        }
        let relu = BuiltinOptions::L2NormOptions(ferrite_format::options::L2NormOptions {
            fused_activation_function: 1,
        });
        let r = spec_build(
            build,
            "L2_NORMALIZATION",
            relu,
            &[(DType::Float32, shape)],
            DType::Float32,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
