//! Pooling: AVERAGE_POOL_2D, L2_POOL_2D, MAX_POOL_2D.

use crate::registry::{reg, Registration};

pub mod average_pool;
pub mod l2_pool;
pub mod max_pool;
pub mod quantized_pool;
pub mod window;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("AVERAGE_POOL_2D", 1, 3, average_pool::build),
    reg("L2_POOL_2D", 1, 1, l2_pool::build),
    reg("MAX_POOL_2D", 1, 3, max_pool::build),
];

#[cfg(test)]
pub(crate) mod tests {
    use crate::api::*;
    use ferrite_format::options::Pool2DOptions;

    /// Builds a pool op with the given options, runs it on a float input and
    /// returns (output shape, output values).
    #[allow(clippy::too_many_arguments)]
    pub fn run_pool(
        build: Builder,
        x: &[f32],
        shape: &[usize],
        padding: i8,
        fh: i32,
        fw: i32,
        sh: i32,
        sw: i32,
        act: i8,
    ) -> (Vec<usize>, Vec<f32>) {
        let options = BuiltinOptions::Pool2DOptions(Pool2DOptions {
            padding,
            stride_w: sw,
            stride_h: sh,
            filter_width: fw,
            filter_height: fh,
            fused_activation_function: act,
        });
        let t = TensorSpec {
            name: "x",
            dtype: DType::Float32,
            shape,
            quant: None,
            data: None,
        };
        let spec = OpSpec {
            code: 0,
            name: "POOL",
            version: 1,
            options: &options,
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &[Some(t)],
            outputs: &[t],
        };
        let k = build(&spec).unwrap();
        let bytes: &[u8] = bytemuck::cast_slice(x);
        let arg = ShapeArg {
            dtype: DType::Float32,
            shape,
            value: Some(bytes),
        };
        let out_shape = k.output_shapes(&[Some(arg)]).unwrap().unwrap().remove(0);
        let mut results = Vec::new();
        for threads in [1, 2] {
            let mut buf = AlignedBuf::default();
            buf.resize(out_shape.iter().product::<usize>() * 4);
            let par = crate::Parallel::new(threads).unwrap();
            let inputs = [Some(TensorRef {
                dtype: DType::Float32,
                shape,
                data: bytes,
                quant: None,
            })];
            let mut outputs = [TensorMut {
                dtype: DType::Float32,
                shape: &out_shape,
                buf: &mut buf,
                quant: None,
            }];
            k.eval(&mut EvalIo {
                inputs: &inputs,
                outputs: &mut outputs,
                par: &par,
            })
            .unwrap();
            results.push(bytemuck::cast_slice::<u8, f32>(buf.bytes()).to_vec());
        }
        let y = results.pop().unwrap();
        // Bitwise equal across thread counts (NaN-safe comparison).
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&results[0]), bits(&y));
        (out_shape, y)
    }
}
