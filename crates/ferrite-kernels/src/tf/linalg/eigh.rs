//! SelfAdjointEigV2 (tf.linalg.eigh): eigenvalues of each symmetric matrix
//! in ascending order and, with `compute_v` (default true), the unit
//! eigenvectors as the columns of v. Only the lower triangle is read, as in
//! TF. Without `compute_v`, v is a scalar, as in TF. Eigenvectors are
//! unique only up to sign (and within repeated eigenvalues).

use nalgebra::{DMatrix, SymmetricEigen};

use super::{bool_attr, float_type, load_lower, read, store, write, Batch};
use crate::api::*;

struct Eigh {
    compute_v: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 2)?;
    float_type(spec, 0)?;
    Ok(Box::new(Eigh {
        compute_v: bool_attr(spec, "compute_v", true)?,
    }))
}

impl Eigh {
    fn shapes(&self, b: &Batch) -> Vec<Vec<usize>> {
        let v = if self.compute_v {
            b.shape(&[b.rows, b.rows])
        } else {
            vec![]
        };
        vec![b.shape(&[b.rows]), v]
    }
}

/// Ascending eigenvalues and the matching eigenvector columns; NaN
/// throughout when the input is not finite.
pub(crate) fn eigh(m: DMatrix<f64>) -> KResult<(Vec<f64>, DMatrix<f64>)> {
    let n = m.nrows();
    if n == 0 {
        return Ok((vec![], m));
    }
    if m.iter().any(|v| !v.is_finite()) {
        return Ok((vec![f64::NAN; n], DMatrix::from_element(n, n, f64::NAN)));
    }
    let Some(e) = SymmetricEigen::try_new(m, f64::EPSILON, super::MAX_ITERATIONS) else {
        return invalid("SelfAdjointEigV2: the eigen decomposition did not converge");
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| e.eigenvalues[i].total_cmp(&e.eigenvalues[j]));
    let values = order.iter().map(|&i| e.eigenvalues[i]).collect();
    let vectors = DMatrix::from_fn(n, n, |r, c| e.eigenvectors[(r, order[c])]);
    Ok((values, vectors))
}

impl Kernel for Eigh {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let b = Batch::square(shape_input(inputs, 0)?.shape, "SelfAdjointEigV2")?;
        Ok(Some(self.shapes(&b)))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::square(a.shape, "SelfAdjointEigV2")?;
        let x = read(&a)?;
        let n = b.rows;
        let mut e_out = Vec::with_capacity(b.count() * n);
        let mut v_out = vec![0.0; if self.compute_v { x.len() } else { 1 }];
        for k in 0..b.count() {
            let (e, v) = eigh(load_lower(&x, k, n))?;
            e_out.extend(e);
            if self.compute_v {
                store(&v, &mut v_out, k);
            }
        }
        write(&mut io.outputs[0], &e_out)?;
        write(&mut io.outputs[1], &v_out)
    }
}
