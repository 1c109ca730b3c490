//! PAD and PADV2 with a constant: `paddings` is [rank, 2] (before, after;
//! non-negative). The fill is PADV2's scalar input, else zero, or the
//! output zero point for quantized tensors (as LiteRT). Each output row is
//! a fill, or fill + one contiguous input run + fill; trailing unpadded
//! dimensions merge into the run, so NHWC image padding copies whole rows.

use bytemuck::Pod;

use super::strided::{for_chunks, rows_per_task, strides};
use super::util::{
    self, check_data_op, check_index_dtype, is_quantized_type, one, to_usize, values, Movement,
};
use crate::api::*;
use crate::parallel::Parallel;

struct Pad {
    /// The fill when there is no constant input (zero or zero point).
    default_fill: Vec<u8>,
}

pub fn build_pad(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, 2..=2)
}

pub fn build_padv2(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, 2..=3)
}

fn build(spec: &OpSpec<'_>, arity: std::ops::RangeInclusive<usize>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(arity, 1)?;
    check_data_op(spec, 0, false)?;
    check_index_dtype(
        spec,
        1,
        &[DType::Int32, DType::Int64, DType::Int8, DType::Int16],
    )?;
    let x = spec.input(0)?;
    let out = spec.output(0)?;
    let size = x.dtype.element_size().unwrap_or(0);
    // LiteRT pads UINT8 with the zero point always, INT8/INT16 when quantized.
    let quantized = x.dtype == DType::Uint8 || (is_quantized_type(x.dtype) && out.quant.is_some());
    let mut default_fill = vec![0u8; size];
    if quantized {
        let zp = out
            .quant
            .and_then(|q| q.zero_point.first().copied())
            .unwrap_or(0);
        let ok = match x.dtype {
            DType::Uint8 => u8::try_from(zp).map(|v| default_fill = vec![v]).is_ok(),
            DType::Int8 => i8::try_from(zp)
                .map(|v| default_fill = v.to_le_bytes().to_vec())
                .is_ok(),
            DType::Int16 => i16::try_from(zp)
                .map(|v| default_fill = v.to_le_bytes().to_vec())
                .is_ok(),
            _ => false,
        };
        if !ok {
            return spec.unsupported(format!("zero point {zp} for {}", x.dtype));
        }
    }
    if let Some(Some(c)) = spec.inputs.get(2) {
        if c.dtype != x.dtype {
            return invalid(format!("PADV2 constant is {}, input {}", c.dtype, x.dtype));
        }
        if quantized && c.quant != out.quant {
            return spec.unsupported("PADV2 constant quantized differently from the output");
        }
    }
    Ok(Box::new(Pad { default_fill }))
}

/// (before, after) per dimension, or `None` while unknown.
fn paddings(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<(usize, usize)>>> {
    let rank = shape_input(inputs, 0)?.shape.len();
    let p = shape_input(inputs, 1)?;
    if p.shape != [rank, 2] && !(rank == 0 && p.shape.iter().product::<usize>() == 0) {
        return invalid(format!("paddings of shape {:?} for rank {rank}", p.shape));
    }
    let Some(v) = values(inputs, 1)? else {
        return Ok(None);
    };
    v.chunks_exact(2)
        .map(|c| Ok((to_usize(c[0], "padding")?, to_usize(c[1], "padding")?)))
        .collect::<KResult<_>>()
        .map(Some)
}

/// One padded dimension: input extent and padding on each side.
#[derive(Debug, Clone, Copy)]
struct PadDim {
    size: usize,
    before: usize,
    after: usize,
}

impl PadDim {
    fn out(&self) -> usize {
        self.size + self.before + self.after
    }
}

struct ConstPad {
    dims: Vec<PadDim>,
    fill: Vec<u8>,
}

impl Movement for ConstPad {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()> {
        let (src, out) = (ins[0], &mut *outs[0]);
        let fill: T = match self.fill.get(..std::mem::size_of::<T>()) {
            Some(b) => bytemuck::pod_read_unaligned(b),
            None => return invalid("pad value does not match the element size"),
        };
        // An unpadded dimension folds into the one before it (the pair is a
        // single dimension with scaled padding), so NHWC spatial padding
        // copies whole W·C rows and channel padding has one outer dimension.
        let mut dims: Vec<PadDim> = Vec::with_capacity(self.dims.len());
        for &d in &self.dims {
            match dims.last_mut() {
                Some(prev) if d.before == 0 && d.after == 0 => {
                    prev.size *= d.size;
                    prev.before *= d.size;
                    prev.after *= d.size;
                }
                _ => dims.push(d),
            }
        }
        let Some(&inner) = dims.last() else {
            // Rank 0: the single element.
            if let (Some(o), Some(&s)) = (out.first_mut(), src.first()) {
                *o = s;
            }
            return Ok(());
        };
        let outer = &dims[..dims.len() - 1];
        let in_shape: Vec<usize> = dims.iter().map(|d| d.size).collect();
        let in_strides = strides(&in_shape);
        let row = inner.out();
        if src.len() != in_shape.iter().product::<usize>()
            || out.len() != dims.iter().map(PadDim::out).product::<usize>()
        {
            return invalid("PAD buffers do not match their shapes");
        }
        if row == 0 || out.is_empty() {
            return Ok(());
        }
        let rows = out.len() / row;
        let per = rows_per_task(par, rows, row);
        for_chunks(par, out, per * row, |task, chunk| {
            let mut idx = vec![0usize; outer.len()];
            let mut r = task * per;
            for d in (0..outer.len()).rev() {
                idx[d] = r % outer[d].out();
                r /= outer[d].out();
            }
            for out_row in chunk.chunks_exact_mut(row) {
                let mut at = Some(0usize);
                for (d, pd) in outer.iter().enumerate() {
                    let i = idx[d];
                    at = match at {
                        Some(a) if i >= pd.before && i < pd.before + pd.size => {
                            Some(a + (i - pd.before) * in_strides[d])
                        }
                        _ => None,
                    };
                }
                match at {
                    Some(a) => {
                        out_row[..inner.before].fill(fill);
                        out_row[inner.before..inner.before + inner.size]
                            .copy_from_slice(&src[a..a + inner.size]);
                        out_row[inner.before + inner.size..].fill(fill);
                    }
                    None => out_row.fill(fill),
                }
                for d in (0..outer.len()).rev() {
                    idx[d] += 1;
                    if idx[d] < outer[d].out() {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        });
        Ok(())
    }
}

impl Kernel for Pad {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        let Some(p) = paddings(inputs)? else {
            return Ok(None);
        };
        one(shape
            .iter()
            .zip(&p)
            .map(|(&d, &(b, a))| d + b + a)
            .collect())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let p = paddings(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("paddings unknown".into()))?;
        let fill = match io.optional_input(2) {
            Some(c) => {
                let size = self.default_fill.len();
                if c.num_elements() != 1 || c.data.len() < size {
                    return invalid("PADV2 constant must hold one value");
                }
                c.data[..size].to_vec()
            }
            None => self.default_fill.clone(),
        };
        let dims = x
            .shape
            .iter()
            .zip(&p)
            .map(|(&size, &(before, after))| PadDim {
                size,
                before,
                after,
            })
            .collect();
        util::run(&ConstPad { dims, fill }, &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, run_op_threads, T};
    use super::*;

    #[test]
    fn pads_with_zero_constant_or_zero_point() {
        let x = T::f32(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let p = T::i32(&[2, 2], &[1, 0, 0, 2]);
        let got = run_op(
            build_pad,
            "PAD",
            BuiltinOptions::None,
            &[Some(x.clone()), Some(p.clone())],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![3, 5]);
        assert_eq!(
            got[0].as_f32(),
            vec![0., 0., 0., 0., 0., 1., 2., 3., 0., 0., 4., 5., 6., 0., 0.]
        );
        let got = run_op(
            build_padv2,
            "PADV2",
            BuiltinOptions::None,
            &[Some(x), Some(p), Some(T::f32(&[], &[1.5]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32()[..6], [1.5, 1.5, 1.5, 1.5, 1.5, 1.0]);
        let q = T::i8(&[1, 1, 1, 1], &[7]).quant(&[0.1], &[-5], 0);
        let qo = T::out(DType::Int8).quant(&[0.1], &[-5], 0);
        let got = run_op(
            build_pad,
            "PAD",
            BuiltinOptions::None,
            &[Some(q), Some(T::i64(&[4, 2], &[0, 0, 1, 0, 0, 1, 0, 0]))],
            &[qo],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![1, 2, 2, 1]);
        assert_eq!(
            got[0].data,
            vec![(-5i8) as u8, (-5i8) as u8, 7, (-5i8) as u8]
        );
        let neg = T::i32(&[2, 2], &[0, -1, 0, 0]);
        assert!(run_op(
            build_pad,
            "PAD",
            BuiltinOptions::None,
            &[Some(T::f32(&[2, 3], &[0.; 6])), Some(neg)],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }

    #[test]
    fn image_style_padding_matches_naive() {
        let (n, h, w, c) = (2, 65, 67, 16);
        let data: Vec<f32> = (0..n * h * w * c).map(|v| v as f32).collect();
        let pads = [0, 0, 1, 2, 2, 1, 0, 0];
        for threads in [1, 2] {
            let got = run_op_threads(
                build_pad,
                "PAD",
                BuiltinOptions::None,
                &[
                    Some(T::f32(&[n, h, w, c], &data)),
                    Some(T::i32(&[4, 2], &pads)),
                ],
                &[T::out(DType::Float32)],
                threads,
            )
            .unwrap();
            let (ho, wo) = (h + 3, w + 3);
            assert_eq!(got[0].shape, vec![n, ho, wo, c]);
            let out = got[0].as_f32();
            for b in 0..n {
                for y in 0..ho {
                    for x in 0..wo {
                        for k in 0..c {
                            let inside = y >= 1 && y < 1 + h && x >= 2 && x < 2 + w;
                            let want = if inside {
                                data[((b * h + y - 1) * w + x - 2) * c + k]
                            } else {
                                0.0
                            };
                            assert_eq!(out[((b * ho + y) * wo + x) * c + k], want);
                        }
                    }
                }
            }
        }
    }
}
