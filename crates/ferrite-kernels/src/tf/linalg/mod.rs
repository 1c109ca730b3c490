//! TensorFlow's linear-algebra ops over batches of matrices (the last two
//! dims), float32 and float64 as TF registers them. Every decomposition runs
//! in f64 with nalgebra and is rounded back to the tensor's type, so one
//! monomorphization serves both types and f32 results are at least as
//! accurate as TF's own f32 ones.

use nalgebra::DMatrix;

use crate::api::{invalid, Attr, DType, KResult, OpSpec, TensorMut, TensorRef};
use crate::registry::{named, NamedRegistration};

pub mod cholesky;
pub mod determinant;
pub mod eigh;
pub mod inverse;
pub mod qr;
pub mod solve;
pub mod svd;
pub mod triangular_solve;

/// This family's registry lines (TF op names).
pub static OPS: &[NamedRegistration] = &[
    named("Cholesky", cholesky::build),
    named("MatrixDeterminant", determinant::build),
    named("MatrixInverse", inverse::build),
    named("MatrixSolve", solve::build),
    named("MatrixTriangularSolve", triangular_solve::build),
    named("Qr", qr::build),
    named("SelfAdjointEigV2", eigh::build),
    named("Svd", svd::build),
];

/// Iteration cap for the iterative decompositions (SVD, symmetric eigen):
/// they converge in a few sweeps per eigenvalue, so hitting it means the
/// input is pathological, and it turns a would-be hang into an error.
pub(crate) const MAX_ITERATIONS: usize = 100_000;

/// The element type of input `i`, which must be float32 or float64, and of
/// every output.
pub(crate) fn float_type(spec: &OpSpec<'_>, i: usize) -> KResult<DType> {
    let dtype = spec.input(i)?.dtype;
    if !matches!(dtype, DType::Float32 | DType::Float64) {
        return spec.unsupported(format!("{dtype} input (float32 and float64 are supported)"));
    }
    if let Some(o) = spec.outputs.iter().find(|o| o.dtype != dtype) {
        return invalid(format!(
            "{}: output {} is {}, the input is {dtype}",
            spec.name, o.name, o.dtype
        ));
    }
    Ok(dtype)
}

/// A boolean attribute, or TF's default when absent (custom ops may carry
/// no attributes at all).
pub(crate) fn bool_attr(spec: &OpSpec<'_>, key: &str, default: bool) -> KResult<bool> {
    match spec.attr(key) {
        None => Ok(default),
        Some(Attr::Bool(b)) => Ok(*b),
        Some(other) => invalid(format!(
            "{}: attribute {key} is {other:?}, not a bool",
            spec.name
        )),
    }
}

/// A batch of matrices: `batch` leading dims, then rows x cols.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Batch {
    pub batch: Vec<usize>,
    pub rows: usize,
    pub cols: usize,
}

impl Batch {
    pub fn of(shape: &[usize], op: &str) -> KResult<Batch> {
        match shape {
            [batch @ .., rows, cols] => Ok(Batch {
                batch: batch.to_vec(),
                rows: *rows,
                cols: *cols,
            }),
            _ => invalid(format!(
                "{op}: input must have rank >= 2, has shape {shape:?}"
            )),
        }
    }

    /// Like [`Batch::of`], for ops that need square matrices.
    pub fn square(shape: &[usize], op: &str) -> KResult<Batch> {
        let b = Batch::of(shape, op)?;
        if b.rows != b.cols {
            return invalid(format!(
                "{op}: input must be a batch of square matrices, has shape {shape:?}"
            ));
        }
        Ok(b)
    }

    pub fn count(&self) -> usize {
        self.batch.iter().product()
    }

    /// The batch dims followed by `tail`.
    pub fn shape(&self, tail: &[usize]) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend_from_slice(tail);
        s
    }
}

/// A float32/float64 tensor's elements as f64.
pub(crate) fn read(t: &TensorRef<'_>) -> KResult<Vec<f64>> {
    match t.dtype {
        DType::Float32 => Ok(t.typed::<f32>()?.iter().map(|&v| f64::from(v)).collect()),
        DType::Float64 => Ok(t.typed::<f64>()?.to_vec()),
        other => invalid(format!("expected a float32 or float64 tensor, got {other}")),
    }
}

/// Writes f64 values into a float32/float64 output of the same length.
pub(crate) fn write(out: &mut TensorMut<'_>, values: &[f64]) -> KResult<()> {
    let n = out.num_elements();
    if n != values.len() {
        return invalid(format!(
            "output holds {n} elements, the result has {}",
            values.len()
        ));
    }
    match out.dtype {
        DType::Float32 => {
            for (o, &v) in out.typed::<f32>()?.iter_mut().zip(values) {
                *o = v as f32;
            }
        }
        DType::Float64 => out.typed::<f64>()?.copy_from_slice(values),
        other => return invalid(format!("expected a float32 or float64 output, got {other}")),
    }
    Ok(())
}

/// Matrix `k` of a row-major batch.
pub(crate) fn load(data: &[f64], k: usize, rows: usize, cols: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(rows, cols, &data[k * rows * cols..(k + 1) * rows * cols])
}

/// The symmetric matrix `k` whose lower triangle is the input's: TF's
/// symmetric ops never read the upper triangle.
pub(crate) fn load_lower(data: &[f64], k: usize, n: usize) -> DMatrix<f64> {
    let m = &data[k * n * n..(k + 1) * n * n];
    DMatrix::from_fn(n, n, |i, j| m[i.max(j) * n + i.min(j)])
}

/// Stores `m` as matrix `k` of a row-major batch.
pub(crate) fn store(m: &DMatrix<f64>, out: &mut [f64], k: usize) {
    let (rows, cols) = m.shape();
    let block = &mut out[k * rows * cols..(k + 1) * rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            block[i * cols + j] = m[(i, j)];
        }
    }
}

/// The first `cols` columns of an orthonormal basis whose first
/// `thin.ncols()` columns are `thin` (orthonormal columns): completes
/// thin U/V to the full square factors of `full_matrices`.
pub(crate) fn complete_basis(thin: &DMatrix<f64>) -> DMatrix<f64> {
    // Q of thin's QR spans thin's columns first and then their orthogonal
    // complement.
    let mut full = qr::Householder::new(thin.clone()).q(thin.nrows());
    full.columns_mut(0, thin.ncols()).copy_from(thin);
    full
}

#[cfg(test)]
pub(crate) mod tests;
