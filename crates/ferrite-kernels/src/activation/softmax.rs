//! SOFTMAX (with beta) and LOG_SOFTMAX over the last axis, float32
//! (quantized inputs go to `quantized_softmax` / `quantized_log_softmax`).
//!
//! As LiteRT's optimized kernels: softmax is `exp((x - max) * beta)` scaled
//! by the reciprocal of the row sum; log-softmax is
//! `(x - max) - log(sum(exp(x - max)))` (LOG_SOFTMAX has no beta).

use crate::api::*;
use crate::elementwise::broadcast::{par_chunks_mut, PAR_MIN};
use crate::elementwise::math::{exp, map_in_place, map_serial};

struct Softmax {
    /// `None` for LOG_SOFTMAX.
    beta: Option<f32>,
}

fn build(spec: &OpSpec<'_>, beta: Option<f32>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let (x, out) = (spec.input(0)?, spec.output(0)?);
    if x.dtype != DType::Float32 || out.dtype != DType::Float32 {
        return spec.unsupported(format!("dtype {} to {}", x.dtype, out.dtype));
    }
    Ok(Box::new(Softmax { beta }))
}

pub fn build_softmax(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    // LiteRT reads a missing options table as beta = 0.
    let beta = match spec.options {
        BuiltinOptions::SoftmaxOptions(o) => o.beta,
        _ => 0.0,
    };
    if spec.input(0)?.dtype != DType::Float32 {
        spec.expect_arity(1..=1, 1)?;
        return super::quantized_softmax::build(spec, beta);
    }
    build(spec, Some(beta))
}

pub fn build_log_softmax(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    if matches!(spec.input(0)?.dtype, DType::Int8 | DType::Uint8) {
        spec.expect_arity(1..=1, 1)?;
        return super::quantized_log_softmax::build(spec);
    }
    build(spec, None)
}

/// Largest element by `v > m` (eight lanes so it vectorises); `x` is not
/// empty.
pub fn row_max(x: &[f32]) -> f32 {
    let mut acc = [x[0]; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let mut m = acc.iter().fold(acc[0], |m, &v| if v > m { v } else { m });
    for &v in rest {
        m = if v > m { v } else { m };
    }
    m
}

/// Sum in eight lanes (so it vectorises).
pub fn row_sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

impl Kernel for Softmax {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.shape.is_empty() {
            return invalid("softmax needs an input of rank 1 or more");
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
        let beta = self.beta;
        par_chunks_mut(par, o, depth, PAR_MIN / 4, |start, chunk| {
            for (r, orow) in chunk.chunks_mut(depth).enumerate() {
                let xrow = &x[start + r * depth..][..depth];
                let max = row_max(xrow);
                match beta {
                    Some(beta) => {
                        map_serial(xrow, orow, |v| exp((v - max) * beta));
                        let inv = 1.0 / row_sum(orow);
                        map_in_place(orow, |v| v * inv);
                    }
                    None => {
                        map_serial(xrow, orow, |v| exp(v - max));
                        let log_sum = row_sum(orow).ln();
                        map_serial(xrow, orow, |v| (v - max) - log_sum);
                    }
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // reference values as printed
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};
    use crate::parallel::Parallel;

    fn run(
        build: Builder,
        options: BuiltinOptions,
        shape: &[usize],
        x: &[f32],
    ) -> KResult<Vec<f32>> {
        let k = spec_build(
            build,
            "SOFTMAX",
            options,
            &[(DType::Float32, shape)],
            DType::Float32,
        )?;
        Ok(bytes_f32(
            &run_kernel(
                k.as_ref(),
                &[(DType::Float32, shape, f32_bytes(x))],
                DType::Float32,
            )?
            .1,
        ))
    }

    fn close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.is_nan() && w.is_nan()) || (g - w).abs() <= 2e-7 * w.abs().max(1e-30),
                "got {got:?}\nwant {want:?}"
            );
        }
    }

    #[test]
    fn softmax_rows_with_beta() {
        let opts =
            |beta| BuiltinOptions::SoftmaxOptions(ferrite_format::options::SoftmaxOptions { beta });
        let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1000.0];
        // numpy: e = exp(b*(x - max)); e / e.sum() per row of 3.
        close(
            &run(build_softmax, opts(1.0), &[2, 3], &x).unwrap(),
            &[0.09003057, 0.24472847, 0.66524096, 0.0, 0.0, 1.0],
        );
        close(
            &run(build_softmax, opts(0.5), &[2, 3], &x).unwrap(),
            &[0.18632372, 0.30719589, 0.50648039, 0.0, 0.0, 1.0],
        );
        // LiteRT: a -inf entry gets 0, a +inf row becomes NaN.
        let inf = f32::INFINITY;
        let got = run(
            build_softmax,
            opts(1.0),
            &[2, 3],
            &[-inf, 0.0, 1.0, inf, 0.0, 1.0],
        )
        .unwrap();
        close(&got[..3], &[0.0, 0.26894143, 0.7310586]);
        assert!(got[3..].iter().all(|v| v.is_nan()));
        assert!(run(build_softmax, opts(1.0), &[], &[1.0]).is_err());
    }

    #[test]
    fn log_softmax_rows() {
        let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1000.0];
        close(
            &run(build_log_softmax, BuiltinOptions::None, &[2, 3], &x).unwrap(),
            &[-2.40760596, -1.40760596, -0.40760596, -1001.0, -1000.0, 0.0],
        );
    }

    #[test]
    fn long_rows_and_threads_agree() {
        let depth = 1001;
        let x: Vec<f32> = (0..depth * 40)
            .map(|i| ((i * 37) % 101) as f32 / 7.0 - 5.0)
            .collect();
        let opts =
            BuiltinOptions::SoftmaxOptions(ferrite_format::options::SoftmaxOptions { beta: 1.0 });
        let k = spec_build(
            build_softmax,
            "SOFTMAX",
            opts,
            &[(DType::Float32, &[40, depth])],
            DType::Float32,
        )
        .unwrap();
        let single = bytes_f32(
            &run_kernel(
                k.as_ref(),
                &[(DType::Float32, &[40, depth], f32_bytes(&x))],
                DType::Float32,
            )
            .unwrap()
            .1,
        );
        for row in single.chunks(depth) {
            assert!((row.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-5);
        }
        let par = Parallel::new(2).unwrap();
        let mut multi = vec![0.0f32; x.len()];
        let shape = [40, depth];
        let refs = [Some(TensorRef {
            dtype: DType::Float32,
            shape: &shape,
            data: bytemuck::cast_slice(&x),
            quant: None,
        })];
        let mut buf = AlignedBuf::default();
        buf.resize(x.len() * 4);
        let mut outs = [TensorMut {
            dtype: DType::Float32,
            shape: &shape,
            buf: &mut buf,
            quant: None,
        }];
        k.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outs,
            par: &par,
        })
        .unwrap();
        multi.copy_from_slice(&bytes_f32(buf.bytes()));
        assert_eq!(single, multi);
        assert_eq!(
            row_max(&x[..depth]),
            x[..depth].iter().cloned().fold(f32::MIN, f32::max)
        );
    }
}
