//! MIRROR_PAD in REFLECT (edge not repeated; pads <= size-1) or SYMMETRIC
//! (edge repeated; pads <= size) mode. Each dimension gets a table of
//! source positions; rows are gathered through the innermost table with
//! the unpadded middle copied as one run.

use bytemuck::Pod;

use super::strided::{for_chunks, rows_per_task, strides};
use super::util::{self, check_data_op, check_index_dtype, one, to_usize, values, Movement};
use crate::api::*;
use crate::parallel::Parallel;

/// Per dimension: leading padding and the source index of each output position.
type Tables = Vec<(usize, Vec<usize>)>;

struct MirrorPad {
    /// 1 for REFLECT, 0 for SYMMETRIC (LiteRT's "offset").
    reflect: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, false)?;
    check_index_dtype(spec, 1, &[DType::Int32, DType::Int64])?;
    let mode = match spec.options {
        BuiltinOptions::MirrorPadOptions(o) => o.mode,
        _ => 0,
    };
    let reflect = match mode {
        0 => 1,
        1 => 0,
        m => return spec.unsupported(format!("mirror pad mode {m}")),
    };
    Ok(Box::new(MirrorPad { reflect }))
}

impl MirrorPad {
    /// Per dimension, the leading padding and the source index of every
    /// output position.
    fn tables(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Tables>> {
        let shape = shape_input(inputs, 0)?.shape;
        let p = shape_input(inputs, 1)?;
        if p.shape != [shape.len(), 2] {
            return invalid(format!(
                "paddings of shape {:?} for rank {}",
                p.shape,
                shape.len()
            ));
        }
        let Some(v) = values(inputs, 1)? else {
            return Ok(None);
        };
        let mut tables = Vec::with_capacity(shape.len());
        for (&n, c) in shape.iter().zip(v.chunks_exact(2)) {
            let (before, after) = (to_usize(c[0], "padding")?, to_usize(c[1], "padding")?);
            let limit = n.saturating_sub(self.reflect);
            if before > limit || after > limit {
                return invalid(format!(
                    "mirror padding ({before}, {after}) too large for dimension {n}"
                ));
            }
            let mut t = Vec::with_capacity(before + n + after);
            t.extend((0..before).map(|p| before - 1 + self.reflect - p));
            t.extend(0..n);
            t.extend((0..after).map(|q| n - 1 - self.reflect - q));
            tables.push((before, t));
        }
        Ok(Some(tables))
    }
}

struct Mirror {
    shape: Vec<usize>,
    tables: Vec<Vec<usize>>,
    /// Leading padding of the innermost dimension.
    before: usize,
}

impl Movement for Mirror {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()> {
        let (src, out) = (ins[0], &mut *outs[0]);
        let Some(inner) = self.tables.last() else {
            out.copy_from_slice(src);
            return Ok(());
        };
        let outer = &self.tables[..self.tables.len() - 1];
        let st = strides(&self.shape);
        let row = inner.len();
        if row == 0 || out.is_empty() {
            return Ok(());
        }
        // The middle of every row is a contiguous copy.
        let n = *self.shape.last().unwrap_or(&0);
        let before = self.before;
        if before + n > row {
            return invalid("mirror padding does not match its tables");
        }
        let per = rows_per_task(par, out.len() / row, row);
        for_chunks(par, out, per * row, |task, chunk| {
            let mut idx = vec![0usize; outer.len()];
            let mut r = task * per;
            for d in (0..outer.len()).rev() {
                idx[d] = r % outer[d].len();
                r /= outer[d].len();
            }
            for out_row in chunk.chunks_exact_mut(row) {
                let base: usize = outer
                    .iter()
                    .zip(&idx)
                    .zip(&st)
                    .map(|((t, &i), &s)| t[i] * s)
                    .sum();
                let src_row = &src[base..base + n];
                for (o, &i) in out_row[..before].iter_mut().zip(inner) {
                    *o = src_row[i];
                }
                out_row[before..before + n].copy_from_slice(src_row);
                for (o, &i) in out_row[before + n..].iter_mut().zip(&inner[before + n..]) {
                    *o = src_row[i];
                }
                for d in (0..outer.len()).rev() {
                    idx[d] += 1;
                    if idx[d] < outer[d].len() {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        });
        Ok(())
    }
}

impl Kernel for MirrorPad {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let Some(t) = self.tables(inputs)? else {
            return Ok(None);
        };
        one(t.iter().map(|(_, t)| t.len()).collect())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let tables = self
            .tables(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("paddings unknown".into()))?;
        let m = Mirror {
            shape: x.shape.to_vec(),
            before: tables.last().map_or(0, |t| t.0),
            tables: tables.into_iter().map(|t| t.1).collect(),
        };
        util::run(&m, &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, run_op_threads, T};
    use super::*;
    use ferrite_format::options::MirrorPadOptions;

    fn opts(mode: i8) -> BuiltinOptions {
        BuiltinOptions::MirrorPadOptions(MirrorPadOptions { mode })
    }

    #[test]
    fn reflects_and_mirrors_like_numpy() {
        // np.pad(np.arange(1, 7).reshape(2, 3), ((1, 1), (2, 2)), mode)
        let x = T::f32(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let p = T::i32(&[2, 2], &[1, 1, 2, 2]);
        let got = run_op(
            build,
            "MIRROR_PAD",
            opts(0),
            &[Some(x.clone()), Some(p.clone())],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![4, 7]);
        #[rustfmt::skip]
        assert_eq!(got[0].as_f32(), vec![
            6., 5., 4., 5., 6., 5., 4.,
            3., 2., 1., 2., 3., 2., 1.,
            6., 5., 4., 5., 6., 5., 4.,
            3., 2., 1., 2., 3., 2., 1.,
        ]);
        let got = run_op(
            build,
            "MIRROR_PAD",
            opts(1),
            &[Some(x.clone()), Some(p)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        #[rustfmt::skip]
        assert_eq!(got[0].as_f32(), vec![
            2., 1., 1., 2., 3., 3., 2.,
            2., 1., 1., 2., 3., 3., 2.,
            5., 4., 4., 5., 6., 6., 5.,
            5., 4., 4., 5., 6., 6., 5.,
        ]);
        let too_big = T::i32(&[2, 2], &[2, 0, 0, 0]);
        assert!(run_op(
            build,
            "MIRROR_PAD",
            opts(0),
            &[Some(x.clone()), Some(too_big.clone())],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "MIRROR_PAD",
            opts(1),
            &[Some(x), Some(too_big)],
            &[T::out(DType::Float32)]
        )
        .is_ok());
    }

    #[test]
    fn large_symmetric_pad_runs_in_parallel() {
        let data: Vec<f32> = (0..256 * 600).map(|v| v as f32).collect();
        let got = run_op_threads(
            build,
            "MIRROR_PAD",
            opts(1),
            &[
                Some(T::f32(&[256, 600], &data)),
                Some(T::i32(&[2, 2], &[3, 0, 0, 1])),
            ],
            &[T::out(DType::Float32)],
            2,
        )
        .unwrap();
        let out = got[0].as_f32();
        assert_eq!(got[0].shape, vec![259, 601]);
        assert_eq!(out[0], data[2 * 600]);
        assert_eq!(out[601 * 3 + 600], data[599]);
        assert_eq!(out[601 * 258 + 5], data[255 * 600 + 5]);
    }
}
