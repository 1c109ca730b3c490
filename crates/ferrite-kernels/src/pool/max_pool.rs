//! MAX_POOL_2D on float32 NHWC: the largest input pixel of each clipped
//! window (padding never wins), then the fused activation clamps.

use super::window::{fold_rows, parse, PoolParams};
use crate::api::*;
use crate::common::clamp;

struct MaxPool {
    p: PoolParams,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    if spec.input(0)?.dtype != DType::Float32 {
        return super::quantized_pool::build(spec, false);
    }
    Ok(Box::new(MaxPool { p: parse(spec)? }))
}

impl Kernel for MaxPool {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        self.p.output_shapes(inputs)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let input = x.f32()?;
        let g = self
            .p
            .eval_geometry(x.shape, input.len(), io.outputs[0].num_elements())?;
        let (lo, hi) = (self.p.lo, self.p.hi);
        let (w, c) = (g.in_w, g.ch);
        self.p.for_each_pixel(
            &g,
            io.par,
            io.outputs[0].f32()?,
            |(y0, y1), (x0, x1), px| {
                // LiteRT starts from the lowest finite float, so an empty window
                // gives that value (before the clamp).
                px.fill(f32::MIN);
                let taps = (y0..y1).flat_map(|y| (x0..x1).map(move |xx| (y * w + xx) * c));
                fold_rows(px, input, taps, |a, v| if v > a { v } else { a });
                for o in px.iter_mut() {
                    *o = clamp(*o, lo, hi);
                }
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run_pool;

    fn input() -> Vec<f32> {
        (0..50)
            .map(|v| ((v * 37 % 23) as f32) * 0.25 - 2.0)
            .collect()
    }

    #[test]
    fn matches_tensorflow_same_and_valid() {
        // Expected values from tf.nn.max_pool2d in TF 2.21.
        let y = run_pool(super::build, &input(), &[1, 5, 5, 2], 0, 3, 3, 2, 2, 0);
        assert_eq!(y.0, vec![1, 3, 3, 2]);
        let want = [
            -0.25, 3.25, 2.25, 3.25, 3.5, 1.25, 0.75, 3.25, 3.25, 3.25, 3.5, 2.25, 1.25, 3.5, 3.25,
            1.5, 3.25, 2.75,
        ];
        assert_eq!(y.1, want);
        let y = run_pool(super::build, &input(), &[1, 5, 5, 2], 1, 2, 2, 1, 1, 0);
        assert_eq!(y.0, vec![1, 4, 4, 2]);
        let want = [
            -0.25, 3.25, 1.0, 3.25, 2.25, 0.0, 3.5, 1.25, 0.25, 3.25, 1.5, 3.25, 2.75, 0.5, 3.5,
            1.75, 0.75, 3.0, 2.0, -0.25, 3.25, 1.0, 3.25, 2.25, 1.25, 3.5, 2.5, 0.25, 3.25, 1.5,
            3.25, 2.75,
        ];
        assert_eq!(y.1, want);
    }

    #[test]
    fn relu_n1_to_1_and_nan() {
        let x = [-3.0, 0.5, f32::NAN, 2.0];
        // 1x2x2x1, VALID 1x1/1 with RELU_N1_TO_1 (2): NaN is skipped by the
        // comparison, so its window holds the lowest float, clamped to -1.
        let y = run_pool(super::build, &x, &[1, 2, 2, 1], 1, 1, 1, 1, 1, 2);
        assert_eq!(y.1, vec![-1.0, 0.5, -1.0, 1.0]);
    }

    #[test]
    fn inconsistent_buffers_are_an_error_not_a_panic() {
        use crate::api::*;
        let options = BuiltinOptions::Pool2DOptions(ferrite_format::options::Pool2DOptions {
            padding: 1,
            stride_w: 1,
            stride_h: 1,
            filter_width: 2,
            filter_height: 2,
            fused_activation_function: 0,
        });
        let t = TensorSpec {
            name: "x",
            dtype: DType::Float32,
            shape: &[1, 2, 2, 1],
            quant: None,
            data: None,
        };
        let spec = OpSpec {
            code: 0,
            name: "MAX_POOL_2D",
            version: 1,
            options: &options,
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &[Some(t)],
            outputs: &[t],
        };
        let k = super::build(&spec).unwrap();
        let x = [1.0f32; 4];
        let mut buf = AlignedBuf::default();
        buf.resize(4 * 4); // room for 4 outputs, but the shape says 1
        let inputs = [Some(TensorRef {
            dtype: DType::Float32,
            shape: &[1, 2, 2, 1],
            data: bytemuck::cast_slice(&x),
            quant: None,
        })];
        let mut outputs = [TensorMut {
            dtype: DType::Float32,
            shape: &[1, 2, 2, 1],
            buf: &mut buf,
            quant: None,
        }];
        let r = k.eval(&mut EvalIo {
            inputs: &inputs,
            outputs: &mut outputs,
            par: &crate::Parallel::single(),
        });
        assert!(r.is_err());
    }
}
