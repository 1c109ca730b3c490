//! PACK: stacks `values_count` same-shaped inputs along a new axis in
//! [-rank-1, rank].

use super::strided::Runs;
use super::util::{self, check_movable, check_same_quant, elements, one};
use crate::api::*;

struct Pack {
    axis: i32,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let (count, axis) = match spec.options {
        BuiltinOptions::PackOptions(o) => (o.values_count, o.axis),
        _ => (spec.inputs.len() as i32, 0),
    };
    if count < 1 || count as usize != spec.inputs.len() {
        return invalid(format!(
            "PACK values_count {count} with {} inputs",
            spec.inputs.len()
        ));
    }
    spec.expect_arity(1..=count as usize, 1)?;
    let out = spec.output(0)?;
    check_movable(spec, out, true)?;
    for i in 0..spec.inputs.len() {
        check_same_quant(spec, spec.input(i)?, out)?;
    }
    Ok(Box::new(Pack { axis }))
}

impl Pack {
    fn plan(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<(usize, Vec<usize>)> {
        let shape = shape_input(inputs, 0)?.shape;
        for i in 1..inputs.len() {
            if shape_input(inputs, i)?.shape != shape {
                return invalid(format!("PACK input {i} does not match shape {shape:?}"));
            }
        }
        let r = shape.len() as i64 + 1;
        let a = self.axis as i64;
        let a = if a < 0 { a + r } else { a };
        if a < 0 || a >= r {
            return invalid(format!(
                "PACK axis {} out of range for rank {}",
                self.axis,
                r - 1
            ));
        }
        let mut out = shape.to_vec();
        out.insert(a as usize, inputs.len());
        Ok((a as usize, out))
    }
}

impl Kernel for Pack {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        one(self.plan(inputs)?.1)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (axis, out) = self.plan(&util::shape_args(io))?;
        let data: Vec<TensorRef> = (0..io.inputs.len())
            .map(|i| io.input(i))
            .collect::<KResult<_>>()?;
        let inner = elements(&out[axis + 1..])?;
        let runs = Runs {
            outer: elements(&out[..axis])?,
            run_lens: vec![inner; data.len()],
        };
        util::run(&runs, &data, io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;
    use ferrite_format::options::PackOptions;

    fn opts(n: i32, axis: i32) -> BuiltinOptions {
        BuiltinOptions::PackOptions(PackOptions {
            values_count: n,
            axis,
        })
    }

    #[test]
    fn stacks_on_a_new_axis() {
        let a = T::f32(&[2, 2], &[1., 2., 3., 4.]);
        let b = T::f32(&[2, 2], &[5., 6., 7., 8.]);
        let cases: &[(i32, &[usize], &[f32])] = &[
            (0, &[2, 2, 2], &[1., 2., 3., 4., 5., 6., 7., 8.]),
            (1, &[2, 2, 2], &[1., 2., 5., 6., 3., 4., 7., 8.]),
            (-1, &[2, 2, 2], &[1., 5., 2., 6., 3., 7., 4., 8.]),
        ];
        for &(axis, shape, expect) in cases {
            let got = run_op(
                build,
                "PACK",
                opts(2, axis),
                &[Some(a.clone()), Some(b.clone())],
                &[T::out(DType::Float32)],
            )
            .unwrap();
            assert_eq!(got[0].shape, shape.to_vec());
            assert_eq!(got[0].as_f32(), expect.to_vec(), "axis {axis}");
        }
        let scalars = run_op(
            build,
            "PACK",
            opts(2, 0),
            &[Some(T::i32(&[], &[3])), Some(T::i32(&[], &[4]))],
            &[T::out(DType::Int32)],
        )
        .unwrap();
        assert_eq!(scalars[0].shape, vec![2]);
        assert_eq!(scalars[0].as_i32(), vec![3, 4]);
        assert!(run_op(
            build,
            "PACK",
            opts(2, 3),
            &[Some(a.clone()), Some(b)],
            &[T::out(DType::Float32)]
        )
        .is_err());
        assert!(run_op(
            build,
            "PACK",
            opts(2, 0),
            &[Some(a), Some(T::f32(&[4], &[0.; 4]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
