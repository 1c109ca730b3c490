//! SQUEEZE: drops the listed size-1 dimensions (negative axes count from
//! the end), or every size-1 dimension when the list is empty.

use super::util::{check_data_op, copy_through, one};
use crate::api::*;

struct Squeeze {
    dims: Vec<i32>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    check_data_op(spec, 0, true)?;
    let dims = match spec.options {
        BuiltinOptions::SqueezeOptions(o) => o.squeeze_dims.clone().unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Box::new(Squeeze { dims }))
}

impl Kernel for Squeeze {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let shape = shape_input(inputs, 0)?.shape;
        if self.dims.is_empty() {
            return one(shape.iter().copied().filter(|&d| d != 1).collect());
        }
        let rank = shape.len() as i64;
        let mut drop = vec![false; shape.len()];
        for &d in &self.dims {
            let a = if d < 0 { d as i64 + rank } else { d as i64 };
            if a < 0 || a >= rank {
                return invalid(format!("squeeze axis {d} out of range for rank {rank}"));
            }
            if shape[a as usize] != 1 {
                return invalid(format!(
                    "cannot squeeze dimension {a} of size {}",
                    shape[a as usize]
                ));
            }
            drop[a as usize] = true;
        }
        one(shape
            .iter()
            .zip(&drop)
            .filter(|(_, &x)| !x)
            .map(|(&d, _)| d)
            .collect())
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        copy_through(&x, &mut io.outputs[0])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;
    use ferrite_format::options::SqueezeOptions;

    fn opts(d: &[i32]) -> BuiltinOptions {
        BuiltinOptions::SqueezeOptions(SqueezeOptions {
            squeeze_dims: Some(d.to_vec()),
        })
    }

    #[test]
    fn squeezes_listed_or_all_unit_dims() {
        let x = T::f32(&[1, 2, 1, 3, 1], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let cases: &[(&[i32], Option<&[usize]>)] = &[
            (&[], Some(&[2, 3])),
            (&[0, -1], Some(&[2, 1, 3])),
            (&[2], Some(&[1, 2, 3, 1])),
            (&[1], None),
            (&[5], None),
        ];
        for (dims, expect) in cases {
            let got = run_op(
                build,
                "SQUEEZE",
                opts(dims),
                &[Some(x.clone())],
                &[T::out(DType::Float32)],
            );
            match expect {
                Some(s) => {
                    let got = got.unwrap();
                    assert_eq!(got[0].shape, s.to_vec());
                    assert_eq!(got[0].as_f32(), x.as_f32());
                }
                None => assert!(got.is_err(), "{dims:?}"),
            }
        }
    }
}
