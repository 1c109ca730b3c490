//! GATHER along `axis` with `batch_dims` leading dimensions shared by the
//! params and the indices (INT16/INT32/INT64, each in [0, axis size)).
//! Output: params.shape[:axis] + indices.shape[batch_dims:] +
//! params.shape[axis+1:]; every index copies one contiguous inner block.

use bytemuck::Pod;

use super::strided::gather_rows;
use super::util::{self, check_data_op, check_index_dtype, elements, one, Movement};
use crate::api::*;
use crate::parallel::Parallel;

struct Gather {
    axis: i32,
    batch_dims: i32,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int16, DType::Int32, DType::Int64])?;
    let (axis, batch_dims) = match spec.options {
        BuiltinOptions::GatherOptions(o) => (o.axis, o.batch_dims),
        _ => (0, 0),
    };
    Ok(Box::new(Gather { axis, batch_dims }))
}

/// The block structure of one gather.
struct Layout {
    out_shape: Vec<usize>,
    batch: usize,
    outer: usize,
    axis_size: usize,
    coords: usize,
    inner: usize,
}

impl Gather {
    fn layout(&self, params: &[usize], indices: &[usize]) -> KResult<Layout> {
        let rank = params.len() as i64;
        let axis = if self.axis < 0 {
            self.axis as i64 + rank
        } else {
            self.axis as i64
        };
        if axis < 0 || axis >= rank {
            return invalid(format!(
                "GATHER axis {} out of range for rank {rank}",
                self.axis
            ));
        }
        let bd = self.batch_dims as i64;
        let bd = if bd < 0 {
            bd + indices.len() as i64
        } else {
            bd
        };
        if bd < 0 || bd > axis || bd >= rank || bd > indices.len() as i64 {
            return invalid(format!(
                "GATHER batch_dims {} does not fit",
                self.batch_dims
            ));
        }
        let (axis, bd) = (axis as usize, bd as usize);
        if params[..bd] != indices[..bd] {
            return invalid(format!(
                "GATHER batch dimensions of {params:?} and {indices:?} differ"
            ));
        }
        let mut out_shape = params[..axis].to_vec();
        out_shape.extend_from_slice(&indices[bd..]);
        out_shape.extend_from_slice(&params[axis + 1..]);
        Ok(Layout {
            out_shape,
            batch: elements(&params[..bd])?,
            outer: elements(&params[bd..axis])?,
            axis_size: params[axis],
            coords: elements(&indices[bd..])?,
            inner: elements(&params[axis + 1..])?,
        })
    }
}

/// Source offsets (in elements) of every output block.
fn block_starts(l: &Layout, idx: &[i64]) -> KResult<Vec<usize>> {
    let mut starts = Vec::with_capacity(l.batch * l.outer * l.coords);
    for b in 0..l.batch {
        for o in 0..l.outer {
            let base = (b * l.outer + o) * l.axis_size;
            for &i in &idx[b * l.coords..(b + 1) * l.coords] {
                if i < 0 || i as usize >= l.axis_size {
                    return invalid(format!(
                        "GATHER index {i} out of range [0, {})",
                        l.axis_size
                    ));
                }
                starts.push((base + i as usize) * l.inner);
            }
        }
    }
    Ok(starts)
}

struct Rows {
    starts: Vec<usize>,
    len: usize,
}

impl Movement for Rows {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()> {
        gather_rows(ins[0], &self.starts, self.len, outs[0], par)
    }
}

impl Kernel for Gather {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(self
            .layout(shape_input(inputs, 0)?.shape, shape_input(inputs, 1)?.shape)?
            .out_shape)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (x, idx) = (io.input(0)?, io.input(1)?);
        let l = self.layout(x.shape, idx.shape)?;
        let values = util::ints(idx.dtype, idx.data)?;
        if values.len() != l.batch * l.coords {
            return invalid("GATHER indices do not match their shape");
        }
        let rows = Rows {
            starts: block_starts(&l, &values)?,
            len: l.inner,
        };
        util::run(&rows, &[x], io.outputs, io.par)
    }
}

/// Row gathers for other families' lookups (EMBEDDING_LOOKUP).
pub fn rows(starts: Vec<usize>, len: usize) -> impl Movement {
    Rows { starts, len }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;
    use ferrite_format::options::GatherOptions;

    fn opts(axis: i32, batch_dims: i32) -> BuiltinOptions {
        BuiltinOptions::GatherOptions(GatherOptions { axis, batch_dims })
    }

    #[test]
    fn gathers_along_axes_and_batches() {
        // np.arange(24).reshape(2,3,4)
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let p = T::f32(&[2, 3, 4], &x);
        let got = run_op(
            build,
            "GATHER",
            opts(1, 0),
            &[Some(p.clone()), Some(T::i32(&[2], &[2, 0]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 2, 4]);
        assert_eq!(
            got[0].as_f32(),
            vec![8., 9., 10., 11., 0., 1., 2., 3., 20., 21., 22., 23., 12., 13., 14., 15.]
        );
        let got = run_op(
            build,
            "GATHER",
            opts(-1, 0),
            &[Some(p.clone()), Some(T::i64(&[1, 2], &[3, 3]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3, 1, 2]);
        assert_eq!(got[0].as_f32()[..4], [3., 3., 7., 7.]);
        // batch_dims 1: tf.gather(x, [[1], [2]], axis=1, batch_dims=1)
        let got = run_op(
            build,
            "GATHER",
            opts(1, 1),
            &[Some(p.clone()), Some(T::i32(&[2, 1], &[1, 2]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 1, 4]);
        assert_eq!(got[0].as_f32(), vec![4., 5., 6., 7., 20., 21., 22., 23.]);
        // A scalar index drops the axis.
        let got = run_op(
            build,
            "GATHER",
            opts(0, 0),
            &[Some(p.clone()), Some(T::i32(&[], &[1]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![3, 4]);
        assert_eq!(got[0].as_f32()[0], 12.0);
        for bad in [3, -1] {
            let r = run_op(
                build,
                "GATHER",
                opts(1, 0),
                &[Some(p.clone()), Some(T::i32(&[1], &[bad]))],
                &[T::out(DType::Float32)],
            );
            assert!(
                matches!(r, Err(KernelError::InvalidInput(_))),
                "index {bad}"
            );
        }
        assert!(run_op(
            build,
            "GATHER",
            opts(3, 0),
            &[Some(p), Some(T::i32(&[1], &[0]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }

    #[test]
    fn gathers_strings() {
        let s = T::strs(&[3], &["zero", "one", "two"]);
        let got = run_op(
            build,
            "GATHER",
            opts(0, 0),
            &[Some(s), Some(T::i32(&[4], &[2, 2, 0, 1]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["two", "two", "zero", "one"]);
    }
}
