//! EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL with NumPy
//! broadcasting; the output is BOOL.
//!
//! Types follow LiteRT: float32, int32 and int64 everywhere; int16 for
//! EQUAL, LESS and GREATER_EQUAL; bool and string for (NOT_)EQUAL. LiteRT
//! compares int8/uint8 after rescaling with the quantization parameters,
//! which can merge neighbouring values, so those are not implemented here.

use super::broadcast::binary;
use crate::api::*;
use crate::common::broadcast_shapes;
use crate::parallel::Parallel;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Cmp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

struct Compare {
    cmp: Cmp,
    dtype: DType,
}

fn build(spec: &OpSpec<'_>, cmp: Cmp) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let dtype = spec.input(0)?.dtype;
    if spec.input(1)?.dtype != dtype {
        return spec.unsupported("inputs of different dtypes");
    }
    if spec.output(0)?.dtype != DType::Bool {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    let eq = matches!(cmp, Cmp::Equal | Cmp::NotEqual);
    let ok = match dtype {
        DType::Float32 | DType::Int32 | DType::Int64 => true,
        DType::Bool | DType::String => eq,
        DType::Int16 => {
            matches!(cmp, Cmp::Equal | Cmp::Less | Cmp::GreaterEqual)
                && spec.input(0)?.quant.is_none()
        }
        _ => false,
    };
    if !ok {
        return spec.unsupported(format!("dtype {dtype}"));
    }
    Ok(Box::new(Compare { cmp, dtype }))
}

pub fn build_equal(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::Equal)
}
pub fn build_not_equal(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::NotEqual)
}
pub fn build_less(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::Less)
}
pub fn build_less_equal(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::LessEqual)
}
pub fn build_greater(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::Greater)
}
pub fn build_greater_equal(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Cmp::GreaterEqual)
}

/// Compares two broadcast inputs into 0/1 bytes.
#[allow(clippy::too_many_arguments)]
fn compare<T: PartialOrd + Copy + Sync>(
    cmp: Cmp,
    par: &Parallel,
    x: &[T],
    xs: &[usize],
    y: &[T],
    ys: &[usize],
    out: &mut [u8],
    shape: &[usize],
) {
    match cmp {
        Cmp::Equal => binary(par, x, xs, y, ys, out, shape, |p, q| (p == q) as u8),
        Cmp::NotEqual => binary(par, x, xs, y, ys, out, shape, |p, q| (p != q) as u8),
        Cmp::Less => binary(par, x, xs, y, ys, out, shape, |p, q| (p < q) as u8),
        Cmp::LessEqual => binary(par, x, xs, y, ys, out, shape, |p, q| (p <= q) as u8),
        Cmp::Greater => binary(par, x, xs, y, ys, out, shape, |p, q| (p > q) as u8),
        Cmp::GreaterEqual => binary(par, x, xs, y, ys, out, shape, |p, q| (p >= q) as u8),
    }
}

/// The strings of a STRING tensor, checked against its element count.
pub fn strings_of<'a>(t: &TensorRef<'a>) -> KResult<Vec<&'a [u8]>> {
    let s = crate::strings::decode(t.data)?;
    if s.len() != t.num_elements() {
        return invalid(format!(
            "string tensor of shape {:?} holds {} strings",
            t.shape,
            s.len()
        ));
    }
    Ok(s)
}

impl Kernel for Compare {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let b = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = io.input(1)?;
        let par = io.par;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.bytes_mut();
        let (xs, ys) = (a.shape, b.shape);
        match self.dtype {
            DType::Float32 => compare(self.cmp, par, a.f32()?, xs, b.f32()?, ys, o, &shape),
            DType::Int32 => compare(
                self.cmp,
                par,
                a.typed::<i32>()?,
                xs,
                b.typed::<i32>()?,
                ys,
                o,
                &shape,
            ),
            DType::Int64 => compare(
                self.cmp,
                par,
                a.typed::<i64>()?,
                xs,
                b.typed::<i64>()?,
                ys,
                o,
                &shape,
            ),
            DType::Int16 => compare(
                self.cmp,
                par,
                a.typed::<i16>()?,
                xs,
                b.typed::<i16>()?,
                ys,
                o,
                &shape,
            ),
            // Any nonzero byte is true.
            DType::Bool => {
                let ne = self.cmp == Cmp::NotEqual;
                binary(par, a.data, xs, b.data, ys, o, &shape, |p, q| {
                    (((p != 0) == (q != 0)) != ne) as u8
                })
            }
            DType::String => {
                let (x, y) = (strings_of(&a)?, strings_of(&b)?);
                compare(self.cmp, par, &x, xs, &y, ys, o, &shape)
            }
            other => return unsupported(format!("dtype {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{f32_bytes, run_kernel, spec_build};

    fn run(
        build: Builder,
        dtype: DType,
        a: (&[usize], Vec<u8>),
        b: (&[usize], Vec<u8>),
    ) -> KResult<(Vec<usize>, Vec<u8>)> {
        let k = spec_build(
            build,
            "CMP",
            BuiltinOptions::None,
            &[(dtype, a.0), (dtype, b.0)],
            DType::Bool,
        )?;
        run_kernel(
            k.as_ref(),
            &[(dtype, a.0, a.1), (dtype, b.0, b.1)],
            DType::Bool,
        )
    }

    #[test]
    fn float_comparisons_broadcast() {
        let a = f32_bytes(&[1.0, 2.0, 3.0, f32::NAN, 2.0, 0.0]);
        let b = f32_bytes(&[2.0, 2.0, 2.0]);
        let cases: [(Builder, [u8; 6]); 6] = [
            (build_equal, [0, 1, 0, 0, 1, 0]),
            (build_not_equal, [1, 0, 1, 1, 0, 1]),
            (build_less, [1, 0, 0, 0, 0, 1]),
            (build_less_equal, [1, 1, 0, 0, 1, 1]),
            (build_greater, [0, 0, 1, 0, 0, 0]),
            (build_greater_equal, [0, 1, 1, 0, 1, 0]),
        ];
        for (build, want) in cases {
            let (s, o) = run(
                build,
                DType::Float32,
                (&[2, 3], a.clone()),
                (&[1, 3], b.clone()),
            )
            .unwrap();
            assert_eq!(s, vec![2, 3]);
            assert_eq!(o, want);
        }
    }

    #[test]
    fn int_bool_and_string_comparisons() {
        let a: Vec<u8> = bytemuck::cast_slice(&[5i64, -1, 7]).to_vec();
        let b: Vec<u8> = bytemuck::cast_slice(&[5i64]).to_vec();
        assert_eq!(
            run(build_greater_equal, DType::Int64, (&[3], a), (&[], b))
                .unwrap()
                .1,
            [1, 0, 1]
        );
        let (_, o) = run(
            build_not_equal,
            DType::Bool,
            (&[2, 2], vec![1, 0, 1, 0]),
            (&[2, 1], vec![1, 0]),
        )
        .unwrap();
        assert_eq!(o, [0, 1, 1, 0]);
        let a = crate::strings::encode(&["ab", "", "xyz", "ab"]);
        let b = crate::strings::encode(&["ab"]);
        let (s, o) = run(build_equal, DType::String, (&[2, 2], a.clone()), (&[1], b)).unwrap();
        assert_eq!((s, o), (vec![2, 2], vec![1, 0, 0, 1]));
        // A string buffer that disagrees with its shape is an error, not a panic.
        let b = crate::strings::encode(&["ab", "cd"]);
        assert!(run(build_equal, DType::String, (&[2, 2], a), (&[1], b)).is_err());
    }

    #[test]
    fn unsupported_and_bad_shapes() {
        for (build, dtype) in [
            (build_less as Builder, DType::String),
            (build_greater, DType::Bool),
            (build_equal, DType::Int8),
            (build_greater, DType::Int16),
        ] {
            let r = spec_build(
                build,
                "CMP",
                BuiltinOptions::None,
                &[(dtype, &[1]), (dtype, &[1])],
                DType::Bool,
            );
            assert!(matches!(r, Err(KernelError::Unsupported(_))), "{dtype}");
        }
        let bad = run(
            build_less,
            DType::Float32,
            (&[2], f32_bytes(&[1.0, 2.0])),
            (&[3], f32_bytes(&[1.0, 2.0, 3.0])),
        );
        assert!(matches!(bad, Err(KernelError::InvalidInput(_))));
    }
}
