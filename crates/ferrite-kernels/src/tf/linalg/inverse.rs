//! MatrixInverse: the inverse (of the adjoint, with `adjoint`) of each
//! square matrix, by LU with partial pivoting. A zero pivot is TF's
//! "Input is not invertible." error.

use super::{bool_attr, float_type, load, read, store, write, Batch};
use crate::api::*;

struct Inverse {
    adjoint: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    float_type(spec, 0)?;
    Ok(Box::new(Inverse {
        adjoint: bool_attr(spec, "adjoint", false)?,
    }))
}

impl Kernel for Inverse {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        Batch::square(a.shape, "MatrixInverse")?;
        Ok(Some(vec![a.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::square(a.shape, "MatrixInverse")?;
        let x = read(&a)?;
        let n = b.rows;
        let mut out = vec![0.0; x.len()];
        for k in 0..b.count() {
            let mut m = load(&x, k, n, n);
            if self.adjoint {
                m.transpose_mut();
            }
            let Some(inv) = m.lu().try_inverse() else {
                return invalid("Input is not invertible.");
            };
            store(&inv, &mut out, k);
        }
        write(&mut io.outputs[0], &out)
    }
}
