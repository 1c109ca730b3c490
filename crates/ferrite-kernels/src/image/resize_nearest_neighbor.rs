//! RESIZE_NEAREST_NEIGHBOR: pure data movement over any element size, with
//! LiteRT's source index rule: scale = in/out (or (in-1)/(out-1) with
//! align_corners), index = floor((o + offset) * scale), or round half away
//! from zero with align_corners, where offset is 0.5 with
//! half_pixel_centers; then clamped to [0, in-1]. LiteRT's optimized kernel
//! for 8-bit data without either flag uses 16.16 fixed point instead
//! (scale = (in << 16) / out + 1, index = (o * scale) >> 16), which can pick
//! a different pixel; 8-bit tensors follow that rule.

use super::size::{check_size_spec, dims, output_shape};
use crate::api::*;
use crate::pool::window::for_chunks;

struct ResizeNearest {
    align_corners: bool,
    half_pixel_centers: bool,
    elem: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    check_size_spec(spec)?;
    let (align_corners, half_pixel_centers) = match spec.options {
        BuiltinOptions::ResizeNearestNeighborOptions(o) => (o.align_corners, o.half_pixel_centers),
        _ => (false, false),
    };
    let x = spec.input(0)?;
    let y = spec.output(0)?;
    if x.dtype != y.dtype {
        return spec.unsupported(format!("dtype {} -> {}", x.dtype, y.dtype));
    }
    if x.quant != y.quant {
        return spec.unsupported("different input and output quantization");
    }
    let elem = match x.dtype {
        DType::String | DType::Resource | DType::Variant => None,
        d => d.element_size(),
    };
    let Some(elem) = elem else {
        return spec.unsupported(format!("dtype {}", x.dtype));
    };
    Ok(Box::new(ResizeNearest {
        align_corners,
        half_pixel_centers,
        elem,
    }))
}

impl ResizeNearest {
    /// Source index along one axis for output position `o`.
    fn source(&self, o: usize, input: usize, output: usize) -> usize {
        let last = input as i64 - 1;
        if self.elem == 1 && !self.align_corners && !self.half_pixel_centers {
            let scale = ((input as i64) << 16) / output as i64 + 1;
            return (((o as i64 * scale) >> 16).min(last)).max(0) as usize;
        }
        let scale = if self.align_corners && output > 1 {
            (input - 1) as f32 / (output - 1) as f32
        } else {
            input as f32 / output as f32
        };
        let offset = if self.half_pixel_centers { 0.5 } else { 0.0 };
        let s = (o as f32 + offset) * scale;
        let v = if self.align_corners {
            s.round()
        } else {
            s.floor()
        } as i64;
        // Without half_pixel_centers the index cannot be negative anyway.
        v.min(last).max(0) as usize
    }
}

impl Kernel for ResizeNearest {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        output_shape(inputs)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let out = &mut io.outputs[0];
        let [_, ih, iw, c, oh, ow] = dims(&x, out, self.elem)?;
        let o = out.bytes_mut();
        if o.is_empty() {
            return Ok(());
        }
        let px = c * self.elem;
        let cols: Vec<usize> = (0..ow).map(|xo| self.source(xo, iw, ow) * px).collect();
        let input = x.data;
        for_chunks(io.par, o, ow * px, o.len(), |r, row| {
            let (b, yo) = (r / oh, r % oh);
            let src = &input[(b * ih + self.source(yo, ih, oh)) * iw * px..][..iw * px];
            for (dst, &at) in row.chunks_exact_mut(px).zip(&cols) {
                dst.copy_from_slice(&src[at..at + px]);
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run_resize;
    use crate::api::DType;

    fn input() -> Vec<f32> {
        (0..12).map(|v| ((v * 7) % 12) as f32 * 0.5 - 1.0).collect()
    }

    fn resize(size: [i32; 2], ac: bool, hp: bool) -> Vec<f32> {
        let x = input();
        let (_, y) = run_resize(
            false,
            DType::Float32,
            bytemuck::cast_slice(&x),
            &[1, 3, 4, 1],
            size,
            ac,
            hp,
            4,
        )
        .unwrap();
        bytemuck::cast_slice(&y).to_vec()
    }

    // Expected values: tf.compat.v1.image.resize_nearest_neighbor (TF 2.21).
    #[test]
    fn index_rules_match_tensorflow() {
        assert_eq!(
            resize([5, 7], false, false),
            vec![
                -1.0, -1.0, 2.5, 2.5, 0.0, 0.0, 3.5, -1.0, -1.0, 2.5, 2.5, 0.0, 0.0, 3.5, 1.0, 1.0,
                4.5, 4.5, 2.0, 2.0, -0.5, 1.0, 1.0, 4.5, 4.5, 2.0, 2.0, -0.5, 3.0, 3.0, 0.5, 0.5,
                4.0, 4.0, 1.5
            ]
        );
        assert_eq!(
            resize([5, 7], true, false),
            vec![
                -1.0, 2.5, 2.5, 0.0, 0.0, 3.5, 3.5, 1.0, 4.5, 4.5, 2.0, 2.0, -0.5, -0.5, 1.0, 4.5,
                4.5, 2.0, 2.0, -0.5, -0.5, 3.0, 0.5, 0.5, 4.0, 4.0, 1.5, 1.5, 3.0, 0.5, 0.5, 4.0,
                4.0, 1.5, 1.5
            ]
        );
        assert_eq!(
            resize([5, 7], false, true),
            vec![
                -1.0, -1.0, 2.5, 0.0, 0.0, 3.5, 3.5, -1.0, -1.0, 2.5, 0.0, 0.0, 3.5, 3.5, 1.0, 1.0,
                4.5, 2.0, 2.0, -0.5, -0.5, 3.0, 3.0, 0.5, 4.0, 4.0, 1.5, 1.5, 3.0, 3.0, 0.5, 4.0,
                4.0, 1.5, 1.5
            ]
        );
        assert_eq!(
            resize([2, 3], false, true),
            vec![-1.0, 0.0, 3.5, 3.0, 4.0, 1.5]
        );
    }

    #[test]
    fn eight_bit_uses_fixed_point_indices() {
        // Width 6 -> 74, column 37: 37 * (6/74 rounded down in float) floors
        // to 2, while 16.16 fixed point with LiteRT's +1 gives 3.
        let x: Vec<u8> = (0..6).collect();
        let (_, y) = run_resize(
            false,
            DType::Int8,
            &x,
            &[1, 1, 6, 1],
            [1, 74],
            false,
            false,
            1,
        )
        .unwrap();
        assert_eq!(y[37], 3);
        let f: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let b: &[u8] = bytemuck::cast_slice(&f);
        let (_, y) = run_resize(
            false,
            DType::Float32,
            b,
            &[1, 1, 6, 1],
            [1, 74],
            false,
            false,
            4,
        )
        .unwrap();
        assert_eq!(bytemuck::cast_slice::<u8, f32>(&y)[37], 2.0);
        // Multi-byte pixels (2 channels of uint8) move together.
        let (s, y) = run_resize(
            false,
            DType::Uint8,
            &[1, 2, 3, 4],
            &[1, 2, 1, 2],
            [3, 2],
            false,
            false,
            1,
        )
        .unwrap();
        assert_eq!(s, vec![1, 3, 2, 2]);
        assert_eq!(y, vec![1, 2, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4]);
    }
}
