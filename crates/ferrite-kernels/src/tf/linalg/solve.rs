//! MatrixSolve: X with `matrix · X = rhs` (`matrixᴴ · X = rhs` with
//! `adjoint`) for each matrix of the batch, by LU with partial pivoting.
//! Unlike MatrixTriangularSolve, TF does not broadcast the batch dims here.

use super::{bool_attr, float_type, load, read, store, write, Batch};
use crate::api::*;

struct Solve {
    adjoint: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let t = float_type(spec, 0)?;
    if spec.input(1)?.dtype != t {
        return invalid(format!("MatrixSolve: rhs must be {t} like the matrix"));
    }
    Ok(Box::new(Solve {
        adjoint: bool_attr(spec, "adjoint", false)?,
    }))
}

fn geometry(a: &[usize], rhs: &[usize]) -> KResult<(Batch, Batch)> {
    let ab = Batch::square(a, "MatrixSolve")?;
    let bb = Batch::of(rhs, "MatrixSolve")?;
    if ab.batch != bb.batch {
        return invalid(format!(
            "MatrixSolve: All input tensors must have the same outer dimensions (matrix {a:?}, rhs {rhs:?})"
        ));
    }
    if bb.rows != ab.rows {
        return invalid(format!(
            "MatrixSolve: Input matrix and right-hand side must have the same number of rows (matrix {a:?}, rhs {rhs:?})"
        ));
    }
    Ok((ab, bb))
}

impl Kernel for Solve {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let rhs = shape_input(inputs, 1)?;
        geometry(a.shape, rhs.shape)?;
        Ok(Some(vec![rhs.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (a, rhs) = (io.input(0)?, io.input(1)?);
        let (ab, bb) = geometry(a.shape, rhs.shape)?;
        let (x, y) = (read(&a)?, read(&rhs)?);
        let (n, cols) = (ab.rows, bb.cols);
        let mut out = vec![0.0; y.len()];
        if n > 0 {
            for k in 0..ab.count() {
                let mut m = load(&x, k, n, n);
                if self.adjoint {
                    m.transpose_mut();
                }
                let Some(sol) = m.lu().solve(&load(&y, k, n, cols)) else {
                    return invalid("Input matrix is not invertible.");
                };
                store(&sol, &mut out, k);
            }
        }
        write(&mut io.outputs[0], &out)
    }
}
