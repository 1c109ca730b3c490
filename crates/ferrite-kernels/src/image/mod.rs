//! Image resampling: RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR.

use crate::registry::{reg, Registration};

#[cfg(test)]
mod quantized_resize_tests;
pub mod resize_bilinear;
pub mod resize_bilinear_quantized;
pub mod resize_nearest_neighbor;
pub mod size;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("RESIZE_BILINEAR", 1, 4, resize_bilinear::build),
    reg(
        "RESIZE_NEAREST_NEIGHBOR",
        1,
        4,
        resize_nearest_neighbor::build,
    ),
];

#[cfg(test)]
pub(crate) mod tests {
    use crate::api::*;
    use ferrite_format::options::{ResizeBilinearOptions, ResizeNearestNeighborOptions};

    /// Runs RESIZE_BILINEAR (or RESIZE_NEAREST_NEIGHBOR) on 1 and 2 threads (checking they agree) and
    /// returns (output shape, output bytes).
    #[allow(clippy::too_many_arguments)]
    pub fn run_resize(
        bilinear: bool,
        dtype: DType,
        x: &[u8],
        shape: &[usize],
        size: [i32; 2],
        align_corners: bool,
        half_pixel_centers: bool,
        elem: usize,
    ) -> KResult<(Vec<usize>, Vec<u8>)> {
        let bilinear_options = BuiltinOptions::ResizeBilinearOptions(ResizeBilinearOptions {
            align_corners,
            half_pixel_centers,
            ..Default::default()
        });
        let nearest = BuiltinOptions::ResizeNearestNeighborOptions(ResizeNearestNeighborOptions {
            align_corners,
            half_pixel_centers,
        });
        let build: Builder = if bilinear {
            super::resize_bilinear::build
        } else {
            super::resize_nearest_neighbor::build
        };
        let xs = TensorSpec {
            name: "x",
            dtype,
            shape,
            quant: None,
            data: None,
        };
        let size_bytes: &[u8] = bytemuck::cast_slice(&size);
        let ss = TensorSpec {
            name: "size",
            dtype: DType::Int32,
            shape: &[2],
            quant: None,
            data: Some(size_bytes),
        };
        let spec = OpSpec {
            code: 0,
            name: "RESIZE",
            version: 1,
            options: if bilinear {
                &bilinear_options
            } else {
                &nearest
            },
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &[Some(xs), Some(ss)],
            outputs: &[xs],
        };
        let k = build(&spec)?;
        let args = [
            Some(ShapeArg {
                dtype,
                shape,
                value: Some(x),
            }),
            Some(ShapeArg {
                dtype: DType::Int32,
                shape: &[2],
                value: Some(size_bytes),
            }),
        ];
        let out_shape = k.output_shapes(&args)?.unwrap().remove(0);
        let mut results = Vec::new();
        for threads in [1, 2] {
            let mut buf = AlignedBuf::default();
            buf.resize(out_shape.iter().product::<usize>() * elem);
            let inputs = [
                Some(TensorRef {
                    dtype,
                    shape,
                    data: x,
                    quant: None,
                }),
                Some(TensorRef {
                    dtype: DType::Int32,
                    shape: &[2],
                    data: size_bytes,
                    quant: None,
                }),
            ];
            let mut outputs = [TensorMut {
                dtype,
                shape: &out_shape,
                buf: &mut buf,
                quant: None,
            }];
            k.eval(&mut EvalIo {
                inputs: &inputs,
                outputs: &mut outputs,
                par: &crate::Parallel::new(threads).unwrap(),
            })?;
            results.push(buf.bytes().to_vec());
        }
        assert_eq!(results[0], results[1]);
        Ok((out_shape, results.pop().unwrap_or_default()))
    }
}
