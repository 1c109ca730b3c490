//! Cholesky: the lower factor L (upper triangle zero) of each symmetric
//! positive-definite matrix, reading only the lower triangle as TF does.
//!
//! On a matrix that is not positive definite TF 2.21's CPU kernel returns
//! NaN and uninitialized values without raising; ferrite raises TF's own
//! message for that case instead of returning values no one can rely on.

use nalgebra::Cholesky as Llt;

use super::{float_type, load_lower, read, store, write, Batch};
use crate::api::*;

struct Cholesky;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    float_type(spec, 0)?;
    Ok(Box::new(Cholesky))
}

impl Kernel for Cholesky {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        Batch::square(a.shape, "Cholesky")?;
        Ok(Some(vec![a.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::square(a.shape, "Cholesky")?;
        let x = read(&a)?;
        let n = b.rows;
        let mut out = vec![0.0; x.len()];
        for k in 0..b.count() {
            let Some(llt) = Llt::new(load_lower(&x, k, n)) else {
                return invalid(
                    "Cholesky decomposition was not successful. The input might not be valid.",
                );
            };
            store(&llt.l(), &mut out, k);
        }
        write(&mut io.outputs[0], &out)
    }
}
