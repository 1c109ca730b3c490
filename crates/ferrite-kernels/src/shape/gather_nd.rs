//! GATHER_ND: the last indices dimension (k <= params rank) addresses a
//! slice params[i0, .., ik-1, ...]; output is indices.shape[:-1] +
//! params.shape[k:]. Like LiteRT, negative indices are rejected and each
//! slice must lie inside params as a whole.

use super::gather::rows;
use super::strided::strides;
use super::util::{self, check_data_op, check_index_dtype, elements, one};
use crate::api::*;

struct GatherNd;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    check_data_op(spec, 0, true)?;
    check_index_dtype(spec, 1, &[DType::Int16, DType::Int32, DType::Int64])?;
    Ok(Box::new(GatherNd))
}

/// Index depth k and the output shape.
fn layout(params: &[usize], indices: &[usize]) -> KResult<(usize, Vec<usize>)> {
    let (Some(&k), false) = (indices.last(), params.is_empty()) else {
        return invalid("GATHER_ND needs params and indices of rank >= 1");
    };
    if k > params.len() {
        return invalid(format!(
            "GATHER_ND index depth {k} exceeds params rank {}",
            params.len()
        ));
    }
    let mut out = indices[..indices.len() - 1].to_vec();
    out.extend_from_slice(&params[k..]);
    Ok((k, out))
}

impl Kernel for GatherNd {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(layout(shape_input(inputs, 0)?.shape, shape_input(inputs, 1)?.shape)?.1)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (x, idx) = (io.input(0)?, io.input(1)?);
        let (k, _) = layout(x.shape, idx.shape)?;
        let total = elements(x.shape)?;
        let values = util::ints(idx.dtype, idx.data)?;
        if total == 0 && !values.is_empty() {
            return invalid("GATHER_ND from empty params");
        }
        let slice = elements(&x.shape[k..])?;
        let st = strides(x.shape);
        let slices = elements(&idx.shape[..idx.shape.len() - 1])?;
        if values.len() != slices * k {
            return invalid("GATHER_ND indices do not match their shape");
        }
        let mut starts = vec![0; slices];
        for (start, tuple) in starts.iter_mut().zip(values.chunks_exact(k.max(1))) {
            let mut at = 0i64;
            for (&i, &s) in tuple.iter().zip(&st) {
                if i < 0 {
                    return invalid(format!("GATHER_ND index {i} is negative"));
                }
                at = at.saturating_add(i.saturating_mul(s as i64));
            }
            if at as u64 + slice as u64 > total as u64 {
                return invalid(format!(
                    "GATHER_ND index {tuple:?} out of range for {:?}",
                    x.shape
                ));
            }
            *start = at as usize;
        }
        util::run(&rows(starts, slice), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn gathers_slices_by_index_tuples() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let p = T::f32(&[2, 2, 3], &x);
        let got = run_op(
            build,
            "GATHER_ND",
            BuiltinOptions::None,
            &[Some(p.clone()), Some(T::i32(&[2, 2], &[1, 0, 0, 1]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3]);
        assert_eq!(got[0].as_f32(), vec![6., 7., 8., 3., 4., 5.]);
        let got = run_op(
            build,
            "GATHER_ND",
            BuiltinOptions::None,
            &[Some(p.clone()), Some(T::i64(&[1, 3], &[1, 1, 2]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![1]);
        assert_eq!(got[0].as_f32(), vec![11.]);
        let got = run_op(
            build,
            "GATHER_ND",
            BuiltinOptions::None,
            &[Some(p.clone()), Some(T::i32(&[2, 0], &[]))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 2, 2, 3]);
        assert_eq!(got[0].as_f32()[12..], x[..]);
        for bad in [[2, 0], [-1, 0], [1, 2]] {
            let r = run_op(
                build,
                "GATHER_ND",
                BuiltinOptions::None,
                &[Some(p.clone()), Some(T::i32(&[1, 2], &bad))],
                &[T::out(DType::Float32)],
            );
            assert!(r.is_err(), "{bad:?}");
        }
        let s = T::strs(&[2, 2], &["a", "b", "c", "d"]);
        let got = run_op(
            build,
            "GATHER_ND",
            BuiltinOptions::None,
            &[Some(s), Some(T::i32(&[2, 2], &[1, 1, 0, 1]))],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["d", "b"]);
    }
}
