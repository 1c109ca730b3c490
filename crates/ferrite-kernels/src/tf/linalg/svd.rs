//! Svd: singular values of each M x N matrix in descending order, and with
//! `compute_uv` (default true) u and v such that `a = u · diag(s) · vᵀ`;
//! with P = min(M, N), u is M x P and v is N x P, or M x M and N x N with
//! `full_matrices`. Without `compute_uv`, u and v are scalars, as in TF.
//! Singular vectors are unique only up to sign (and within repeated
//! values), so they can differ from TF's by a sign per pair.

use nalgebra::{DMatrix, SVD};

use super::{bool_attr, complete_basis, float_type, load, read, store, write, Batch};
use crate::api::*;

struct Svd {
    compute_uv: bool,
    full: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 3)?;
    float_type(spec, 0)?;
    Ok(Box::new(Svd {
        compute_uv: bool_attr(spec, "compute_uv", true)?,
        full: bool_attr(spec, "full_matrices", false)?,
    }))
}

impl Svd {
    fn shapes(&self, b: &Batch) -> [Vec<usize>; 3] {
        let p = b.rows.min(b.cols);
        let (uc, vc) = if self.full { (b.rows, b.cols) } else { (p, p) };
        if self.compute_uv {
            [
                b.shape(&[p]),
                b.shape(&[b.rows, uc]),
                b.shape(&[b.cols, vc]),
            ]
        } else {
            [b.shape(&[p]), vec![], vec![]]
        }
    }

    /// (s, u, v) of one matrix; NaN throughout when the input is not finite.
    fn one(&self, m: DMatrix<f64>) -> KResult<(Vec<f64>, DMatrix<f64>, DMatrix<f64>)> {
        let (rows, cols) = m.shape();
        let p = rows.min(cols);
        let (uc, vc) = if self.full { (rows, cols) } else { (p, p) };
        if p == 0 {
            return Ok((
                vec![],
                DMatrix::identity(rows, uc),
                DMatrix::identity(cols, vc),
            ));
        }
        if m.iter().any(|v| !v.is_finite()) {
            let nan = |r, c| DMatrix::from_element(r, c, f64::NAN);
            return Ok((vec![f64::NAN; p], nan(rows, uc), nan(cols, vc)));
        }
        let uv = self.compute_uv;
        let Some(svd) = SVD::try_new(m, uv, uv, f64::EPSILON, super::MAX_ITERATIONS) else {
            return invalid("Svd: the SVD did not converge");
        };
        let s = svd.singular_values.iter().copied().collect();
        let (u, v) = match (svd.u, svd.v_t) {
            (Some(u), Some(v_t)) if uv => {
                let v = v_t.transpose();
                if self.full {
                    (complete_basis(&u), complete_basis(&v))
                } else {
                    (u, v)
                }
            }
            _ => (DMatrix::zeros(0, 0), DMatrix::zeros(0, 0)),
        };
        Ok((s, u, v))
    }
}

impl Kernel for Svd {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let b = Batch::of(shape_input(inputs, 0)?.shape, "Svd")?;
        Ok(Some(self.shapes(&b).to_vec()))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::of(a.shape, "Svd")?;
        let x = read(&a)?;
        let [ss, us, vs] = self.shapes(&b);
        let size = |s: &[usize]| s.iter().product::<usize>();
        let (mut s_out, mut u_out, mut v_out) = (
            Vec::with_capacity(size(&ss)),
            vec![0.0; size(&us)],
            vec![0.0; size(&vs)],
        );
        for k in 0..b.count() {
            let (s, u, v) = self.one(load(&x, k, b.rows, b.cols))?;
            s_out.extend(s);
            if self.compute_uv {
                store(&u, &mut u_out, k);
                store(&v, &mut v_out, k);
            }
        }
        write(&mut io.outputs[0], &s_out)?;
        write(&mut io.outputs[1], &u_out)?;
        write(&mut io.outputs[2], &v_out)
    }
}
