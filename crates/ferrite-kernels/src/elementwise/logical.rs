//! LOGICAL_AND, LOGICAL_OR (broadcast) and LOGICAL_NOT on BOOL tensors.
//! Any nonzero byte reads as true; outputs are 0 or 1.

use super::broadcast::{binary, map};
use crate::api::*;
use crate::common::broadcast_shapes;

#[derive(Clone, Copy, PartialEq)]
enum Logic {
    And,
    Or,
    Not,
}

struct Logical(Logic);

fn build(spec: &OpSpec<'_>, op: Logic) -> KResult<Box<dyn Kernel>> {
    let arity = if op == Logic::Not { 1 } else { 2 };
    spec.expect_arity(arity..=arity, 1)?;
    for i in 0..arity {
        if spec.input(i)?.dtype != DType::Bool {
            return spec.unsupported(format!("dtype {}", spec.input(i)?.dtype));
        }
    }
    if spec.output(0)?.dtype != DType::Bool {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    Ok(Box::new(Logical(op)))
}

pub fn build_and(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Logic::And)
}
pub fn build_or(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Logic::Or)
}
pub fn build_not(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Logic::Not)
}

impl Kernel for Logical {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        if self.0 == Logic::Not {
            return Ok(Some(vec![a.shape.to_vec()]));
        }
        let b = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let par = io.par;
        if self.0 == Logic::Not {
            map(par, a.data, io.outputs[0].bytes_mut(), |p| (p == 0) as u8);
            return Ok(());
        }
        let b = io.input(1)?;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.bytes_mut();
        match self.0 {
            Logic::And => binary(par, a.data, a.shape, b.data, b.shape, o, &shape, |p, q| {
                (p != 0 && q != 0) as u8
            }),
            _ => binary(par, a.data, a.shape, b.data, b.shape, o, &shape, |p, q| {
                (p != 0 || q != 0) as u8
            }),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{run_kernel, spec_build};

    #[test]
    fn logical_ops_broadcast() {
        let k = spec_build(
            build_and,
            "AND",
            BuiltinOptions::None,
            &[(DType::Bool, &[2, 2]), (DType::Bool, &[2])],
            DType::Bool,
        )
        .unwrap();
        let (s, o) = run_kernel(
            k.as_ref(),
            &[
                (DType::Bool, &[2, 2], vec![1, 0, 1, 2]),
                (DType::Bool, &[2], vec![1, 1]),
            ],
            DType::Bool,
        )
        .unwrap();
        assert_eq!((s, o), (vec![2, 2], vec![1, 0, 1, 1]));
        let k = spec_build(
            build_or,
            "OR",
            BuiltinOptions::None,
            &[(DType::Bool, &[3]), (DType::Bool, &[])],
            DType::Bool,
        )
        .unwrap();
        let (_, o) = run_kernel(
            k.as_ref(),
            &[
                (DType::Bool, &[3], vec![1, 0, 0]),
                (DType::Bool, &[], vec![0]),
            ],
            DType::Bool,
        )
        .unwrap();
        assert_eq!(o, [1, 0, 0]);
        let k = spec_build(
            build_not,
            "NOT",
            BuiltinOptions::None,
            &[(DType::Bool, &[3])],
            DType::Bool,
        )
        .unwrap();
        let (_, o) = run_kernel(
            k.as_ref(),
            &[(DType::Bool, &[3], vec![1, 0, 5])],
            DType::Bool,
        )
        .unwrap();
        assert_eq!(o, [0, 1, 0]);
        let r = spec_build(
            build_and,
            "AND",
            BuiltinOptions::None,
            &[(DType::Int32, &[1]), (DType::Int32, &[1])],
            DType::Bool,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
