//! Bincount and DenseBincount: counts (or sums weights over) the
//! occurrences of each value in [0, size). Values >= size are dropped and
//! negative values are an error, as in TF. DenseBincount also takes 2-D
//! input (one histogram per row) and `binary_output`.

use super::attr_bool;
use crate::api::*;
use crate::registry::{named, NamedRegistration};

pub static OPS: &[NamedRegistration] = &[
    named("Bincount", build_bincount),
    named("DenseBincount", build_dense),
];

struct Bincount {
    /// DenseBincount: rank-2 inputs give per-row histograms.
    dense: bool,
    binary: bool,
    out: DType,
}

pub fn build_bincount(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, false)
}

pub fn build_dense(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, true)
}

fn build(spec: &OpSpec<'_>, dense: bool) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(3..=3, 1)?;
    let out = spec.output(0)?.dtype;
    if !matches!(
        out,
        DType::Int32 | DType::Int64 | DType::Float32 | DType::Float64
    ) {
        return spec.unsupported(format!("output dtype {out}"));
    }
    if spec.input(2)?.dtype != out {
        return invalid(format!("{}: weights and output dtypes differ", spec.name));
    }
    let binary = dense && attr_bool(spec, "binary_output", false)?;
    Ok(Box::new(Bincount { dense, binary, out }))
}

fn size_of(a: &ShapeArg<'_>) -> KResult<Option<usize>> {
    match a.int_values()?.as_deref() {
        None => Ok(None),
        Some([n]) => usize::try_from(*n)
            .map(Some)
            .map_err(|_| KernelError::InvalidInput(format!("bincount size {n} is negative"))),
        Some(v) => invalid(format!(
            "bincount size must be a scalar, has {} values",
            v.len()
        )),
    }
}

impl Bincount {
    /// Histogram rows: one, or (DenseBincount on a matrix) one per row.
    fn rows(&self, shape: &[usize]) -> KResult<Option<usize>> {
        match (self.dense, shape.len()) {
            (false, _) | (true, 0 | 1) => Ok(None),
            (true, 2) => Ok(Some(shape[0])),
            (true, r) => invalid(format!("DenseBincount input must have rank <= 2, has {r}")),
        }
    }
}

impl Kernel for Bincount {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let Some(size) = size_of(shape_input(inputs, 1)?)? else {
            return Ok(None);
        };
        Ok(Some(vec![
            match self.rows(shape_input(inputs, 0)?.shape)? {
                Some(r) => vec![r, size],
                None => vec![size],
            },
        ]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let size = size_of(&io.input(1)?.as_shape_arg())?.unwrap_or(0);
        let w = io.input(2)?;
        let values = int_values(x.dtype, x.data)?;
        let weighted = w.num_elements() > 0;
        if weighted && w.shape != x.shape {
            return invalid(format!(
                "bincount weights shape {:?} differs from input {:?}",
                w.shape, x.shape
            ));
        }
        let weights: Vec<f64> = if weighted {
            match w.dtype {
                DType::Int32 => w.typed::<i32>()?.iter().map(|&v| v as f64).collect(),
                DType::Int64 => w.typed::<i64>()?.iter().map(|&v| v as f64).collect(),
                DType::Float32 => w.typed::<f32>()?.iter().map(|&v| v as f64).collect(),
                _ => w.typed::<f64>()?.to_vec(),
            }
        } else {
            Vec::new()
        };
        let row_len = match self.rows(x.shape)? {
            Some(_) => x.shape[1],
            None => values.len().max(1),
        };
        let rows = self.rows(x.shape)?.unwrap_or(1);
        // f64 sums: integer weights stay exact below 2^53, and f32 weights
        // are summed in order as TF does, rounded once at the end.
        let mut acc = vec![0f64; rows * size];
        for (i, &v) in values.iter().enumerate() {
            if v < 0 {
                return invalid(format!("bincount input must be non-negative, got {v}"));
            }
            let Ok(v) = usize::try_from(v) else { continue };
            if v >= size {
                continue;
            }
            let slot = &mut acc[(i / row_len) * size + v];
            if self.binary {
                *slot = 1.0;
            } else {
                *slot += if weighted { weights[i] } else { 1.0 };
            }
        }
        let out = &mut io.outputs[0];
        match self.out {
            DType::Int32 => out
                .typed::<i32>()?
                .iter_mut()
                .zip(&acc)
                .for_each(|(o, &a)| *o = a as i32),
            DType::Int64 => out
                .typed::<i64>()?
                .iter_mut()
                .zip(&acc)
                .for_each(|(o, &a)| *o = a as i64),
            DType::Float32 => out
                .typed::<f32>()?
                .iter_mut()
                .zip(&acc)
                .for_each(|(o, &a)| *o = a as f32),
            _ => out.typed::<f64>()?.copy_from_slice(&acc),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::{build_bincount, build_dense};

    #[test]
    fn counts_weights_and_binary_rows() {
        let x = T::i32(&[6], &[1, 1, 3, 0, 7, 1]);
        let got = run_named(
            build_bincount,
            "Bincount",
            &[],
            &[
                Some(x.clone()),
                Some(T::i32(&[], &[4])),
                Some(T::i64(&[0], &[])),
            ],
            &[T::out(DType::Int64)],
        )
        .unwrap();
        assert_eq!(got[0].as_i64(), vec![1, 3, 0, 1]);
        let w = T::f32(&[6], &[0.5, 1., 2., 3., 4., 5.]);
        let got = run_named(
            build_bincount,
            "Bincount",
            &[],
            &[Some(x), Some(T::i32(&[], &[3])), Some(w)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![3., 6.5, 0.]);
        let m = T::i64(&[2, 3], &[0, 2, 2, 1, 1, 5]);
        let got = run_named(
            build_dense,
            "DenseBincount",
            &[("binary_output", Attr::Bool(true))],
            &[Some(m), Some(T::i64(&[], &[3])), Some(T::i32(&[0], &[]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![2, 3]);
        assert_eq!(got[0].as_i32(), vec![1, 0, 1, 0, 1, 0]);
        let neg = run_named(
            build_dense,
            "DenseBincount",
            &[],
            &[
                Some(T::i32(&[1], &[-1])),
                Some(T::i32(&[], &[3])),
                Some(T::i32(&[0], &[])),
            ],
            &[T::out(DType::Int32)],
        );
        assert!(neg.is_err());
    }
}
