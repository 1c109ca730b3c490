//! MatrixDeterminant: the determinant of each square matrix, by LU with
//! partial pivoting (1 for a 0x0 matrix, as TF gives).

use super::{float_type, load, read, write, Batch};
use crate::api::*;

struct Determinant;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    float_type(spec, 0)?;
    Ok(Box::new(Determinant))
}

impl Kernel for Determinant {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        Ok(Some(vec![
            Batch::square(a.shape, "MatrixDeterminant")?.batch,
        ]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::square(a.shape, "MatrixDeterminant")?;
        let x = read(&a)?;
        let n = b.rows;
        let out: Vec<f64> = (0..b.count())
            .map(|k| {
                if n == 0 {
                    1.0
                } else {
                    load(&x, k, n, n).lu().determinant()
                }
            })
            .collect();
        write(&mut io.outputs[0], &out)
    }
}
