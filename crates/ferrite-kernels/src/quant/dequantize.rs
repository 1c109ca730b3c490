//! DEQUANTIZE to FLOAT32: FLOAT16 converts exactly; INT8/UINT8/INT16 use
//! `real = scale * (q - zero_point)` in f32 (as LiteRT's kernels), per
//! tensor or per slice along the quantized dimension.

use half::f16;

use crate::api::*;

enum Source {
    Half,
    Affine {
        scale: Vec<f32>,
        zero_point: Vec<i32>,
        axis: usize,
    },
}

struct Dequantize {
    dtype: DType,
    source: Source,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    if spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    let x = spec.input(0)?;
    let source = match x.dtype {
        DType::Float16 => Source::Half,
        DType::Int8 | DType::Uint8 | DType::Int16 => {
            let Some(q) = x.quant else {
                return invalid(format!(
                    "DEQUANTIZE of a {} tensor without quantization",
                    x.dtype
                ));
            };
            if q.scale.is_empty() {
                return invalid("DEQUANTIZE without scales");
            }
            // A single zero point applies to every channel.
            let zero_point = match q.zero_point.len() {
                0 => vec![0; q.scale.len()],
                1 => vec![q.zero_point[0]; q.scale.len()],
                n if n == q.scale.len() => q.zero_point.clone(),
                n => return invalid(format!("{n} zero points for {} scales", q.scale.len())),
            };
            let zero_point = zero_point
                .iter()
                .map(|&z| {
                    i32::try_from(z).map_err(|_| {
                        KernelError::InvalidInput(format!("zero point {z} out of range"))
                    })
                })
                .collect::<KResult<_>>()?;
            Source::Affine {
                scale: q.scale.clone(),
                zero_point,
                axis: q.axis,
            }
        }
        d => return spec.unsupported(format!("input dtype {d}")),
    };
    Ok(Box::new(Dequantize {
        dtype: x.dtype,
        source,
    }))
}

/// Applies per-channel affine dequantization over `q`, whose channel
/// dimension has `channels` entries each repeated `inner` times.
fn affine<Q: Copy + Into<i32>>(q: &[Q], out: &mut [f32], scale: &[f32], zp: &[i32], inner: usize) {
    let channels = scale.len();
    let block = channels * inner.max(1);
    for (ob, qb) in out.chunks_mut(block).zip(q.chunks(block)) {
        for ((oc, qc), (&s, &z)) in ob
            .chunks_mut(inner.max(1))
            .zip(qb.chunks(inner.max(1)))
            .zip(scale.iter().zip(zp))
        {
            for (o, &v) in oc.iter_mut().zip(qc) {
                *o = s * (v.into() - z) as f32;
            }
        }
    }
}

impl Kernel for Dequantize {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        if let Source::Affine { scale, axis, .. } = &self.source {
            if scale.len() > 1 && shape.get(*axis) != Some(&scale.len()) {
                return invalid(format!(
                    "{} scales along axis {axis} of {shape:?}",
                    scale.len()
                ));
            }
        }
        Ok(Some(vec![shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let out = io.outputs[0].f32()?;
        match &self.source {
            Source::Half => {
                for (o, &h) in out.iter_mut().zip(x.typed::<u16>()?) {
                    *o = f16::from_bits(h).to_f32();
                }
            }
            Source::Affine {
                scale,
                zero_point,
                axis,
            } => {
                let inner = if scale.len() > 1 {
                    x.shape.get(axis + 1..).map_or(1, |s| s.iter().product())
                } else {
                    x.num_elements()
                };
                match self.dtype {
                    DType::Int8 => affine(x.typed::<i8>()?, out, scale, zero_point, inner),
                    DType::Uint8 => affine(x.data, out, scale, zero_point, inner),
                    _ => affine(x.typed::<i16>()?, out, scale, zero_point, inner),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::testing::{run_op, T};

    #[test]
    fn dequantizes_half_and_affine_tensors() {
        let h: Vec<u8> = [1.5f32, -2.25, 65504.0, 1e-7]
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(T::new(DType::Float16, &[4], h).konst())],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(
            got[0].as_f32(),
            vec![1.5, -2.25, 65504.0, f16::from_f32(1e-7).to_f32()]
        );
        let q = T::i8(&[4], &[-128, 0, 5, 127]).quant(&[0.5], &[5], 0);
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(q)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![-66.5, -2.5, 0.0, 61.0]);
        let u = T::u8(&[2], &[0, 255]).quant(&[0.1], &[128], 0);
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(u)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![0.1f32 * -128.0, 0.1f32 * 127.0]);
        let s = T::new(
            DType::Int16,
            &[2],
            bytemuck::cast_slice(&[-300i16, 300]).to_vec(),
        )
        .quant(&[0.01], &[0], 0);
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(s)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![0.01f32 * -300.0, 0.01f32 * 300.0]);
    }

    #[test]
    fn per_axis_scales_follow_the_quantized_dimension() {
        // Shape [2, 3] quantized along axis 1 and along axis 0.
        let data = [1i8, 2, 3, 4, 5, 6];
        let q = T::i8(&[2, 3], &data).quant(&[1.0, 0.5, 0.25], &[0, 1, 2], 1);
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(q)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![1.0, 0.5, 0.25, 4.0, 2.0, 1.0]);
        let q = T::i8(&[2, 3], &data).quant(&[1.0, 2.0], &[1], 0);
        let got = run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(q)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![0.0, 1.0, 2.0, 6.0, 8.0, 10.0]);
        let bad = T::i8(&[2, 3], &data).quant(&[1.0, 2.0], &[0], 1);
        assert!(run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(bad)],
            &[T::out(DType::Float32)]
        )
        .is_err());
        let plain = T::i8(&[1], &[1]);
        assert!(run_op(
            build,
            "DEQUANTIZE",
            BuiltinOptions::None,
            &[Some(plain)],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
