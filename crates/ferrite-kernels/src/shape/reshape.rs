//! RESHAPE. As in LiteRT, a 1-D INT32 shape input wins (an empty one means
//! a scalar); otherwise ReshapeOptions.new_shape is used, where the legacy
//! `[0]` also means a scalar. One -1 is inferred from the element count.

use super::util::{check_data_op, copy_through, ints, one};
use crate::api::*;

struct Reshape {
    from_options: Vec<i64>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=2, 1)?;
    check_data_op(spec, 0, true)?;
    let mut from_options: Vec<i64> = match spec.options {
        BuiltinOptions::ReshapeOptions(o) => {
            o.new_shape.iter().flatten().map(|&x| x as i64).collect()
        }
        _ => Vec::new(),
    };
    if from_options == [0] {
        from_options.clear();
    }
    Ok(Box::new(Reshape { from_options }))
}

/// Resolves a requested shape (with at most one -1) against an input shape,
/// following LiteRT's handling of zero-sized dimensions.
pub fn resolve_shape(requested: &[i64], input: &[usize]) -> KResult<Vec<usize>> {
    let mut in_total: i128 = 1;
    let mut in_nonzero: i128 = 1;
    for &d in input {
        in_total *= d as i128;
        if d != 0 {
            in_nonzero *= d as i128;
        }
    }
    let mut stretch = None;
    let mut out_total: i128 = 1;
    let mut out_nonzero: i128 = 1;
    for (i, &d) in requested.iter().enumerate() {
        match d {
            -1 if stretch.is_none() => stretch = Some(i),
            d if d >= 0 => {
                out_total = out_total.saturating_mul(d as i128);
                if d != 0 {
                    out_nonzero = out_nonzero.saturating_mul(d as i128);
                }
            }
            _ => return invalid(format!("bad target shape {requested:?}")),
        }
    }
    let mut out: Vec<usize> = requested.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = stretch {
        let fill = if in_total == 0 && out_total != 0 {
            0
        } else {
            in_nonzero / out_nonzero
        };
        out[i] = usize::try_from(fill)
            .map_err(|_| KernelError::InvalidInput("reshape dimension overflows".into()))?;
        out_total = out_total.saturating_mul(fill);
    }
    if in_total != out_total {
        return invalid(format!("cannot reshape {input:?} to {requested:?}"));
    }
    Ok(out)
}

impl Kernel for Reshape {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let requested = match inputs.get(1).copied().flatten() {
            Some(s) if s.shape.len() == 1 && s.dtype == DType::Int32 => match s.value {
                Some(v) => ints(s.dtype, v)?,
                None => return Ok(None),
            },
            _ => self.from_options.clone(),
        };
        one(resolve_shape(&requested, x.shape)?)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        copy_through(&x, &mut io.outputs[0])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{plan_shapes, run_op, T};
    use super::*;
    use ferrite_format::options::ReshapeOptions;

    fn opts(s: Option<Vec<i32>>) -> BuiltinOptions {
        BuiltinOptions::ReshapeOptions(ReshapeOptions { new_shape: s })
    }

    #[test]
    fn resolves_like_litert() {
        type Case<'a> = (&'a [i64], &'a [usize], Option<&'a [usize]>);
        let cases: &[Case] = &[
            (&[-1, 4], &[2, 6], Some(&[3, 4])),
            (&[3, -1], &[0, 4], Some(&[3, 0])),
            (&[-1, 0], &[0, 3], Some(&[3, 0])),
            (&[], &[1, 1], Some(&[])),
            (&[-1, -1], &[4], None),
            (&[5], &[4], None),
            (&[-1, 3], &[4], None),
            (&[-2, 2], &[4], None),
        ];
        for (req, input, expect) in cases {
            let got = resolve_shape(req, input).ok();
            assert_eq!(got.as_deref(), *expect, "{req:?} from {input:?}");
        }
    }

    #[test]
    fn shape_input_wins_over_options_and_strings_copy() {
        let x = T::f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let shape = T::i32(&[2], &[3, -1]);
        let out = run_op(
            build,
            "RESHAPE",
            opts(Some(vec![6])),
            &[Some(x.clone()), Some(shape)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![3, 2]);
        assert_eq!(out[0].as_f32(), x.as_f32());
        // An INT64 shape input is ignored in favour of the options.
        let shape64 = T::i64(&[2], &[3, 2]);
        let out = run_op(
            build,
            "RESHAPE",
            opts(Some(vec![6])),
            &[Some(x.clone()), Some(shape64)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![6]);
        let s = T::strs(&[2, 2], &["a", "bc", "", "d"]);
        let out = run_op(
            build,
            "RESHAPE",
            opts(Some(vec![4])),
            &[Some(s)],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![4]);
        assert_eq!(out[0].as_strs(), vec!["a", "bc", "", "d"]);
        // A scalar from the legacy [0] option.
        let one = T::f32(&[1, 1], &[7.0]);
        let out = run_op(
            build,
            "RESHAPE",
            opts(Some(vec![0])),
            &[Some(one)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert!(out[0].shape.is_empty());
    }

    #[test]
    fn unknown_shape_input_defers() {
        let x = T::f32(&[2, 3], &[0.0; 6]);
        let shape = T::i32(&[2], &[3, -1]);
        let got = plan_shapes(
            build,
            "RESHAPE",
            opts(None),
            &[Some(x), Some(shape)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert!(got.is_none());
    }
}
