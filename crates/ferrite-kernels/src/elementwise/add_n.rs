//! ADD_N: the sum of two or more float32 or int32 tensors of one shape (no
//! broadcasting, no clamp). Sums start from zero and add inputs in order,
//! as LiteRT does.

use super::broadcast::{par_chunks_mut, PAR_MIN};
use crate::api::*;

struct AddN {
    dtype: DType,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    if spec.inputs.len() < 2 {
        return invalid("ADD_N needs at least two inputs");
    }
    spec.expect_arity(2..=usize::MAX, 1)?;
    let dtype = spec.input(0)?.dtype;
    for i in 0..spec.inputs.len() {
        let t = spec.input(i)?;
        if t.dtype != dtype {
            return spec.unsupported("inputs of different dtypes");
        }
        if t.quant.is_some() && dtype != DType::Float32 {
            return spec.unsupported("quantized inputs");
        }
    }
    if spec.output(0)?.dtype != dtype || !matches!(dtype, DType::Float32 | DType::Int32) {
        return spec.unsupported(format!("dtype {dtype}"));
    }
    Ok(Box::new(AddN { dtype }))
}

fn sum<T: bytemuck::Pod + Send + Sync + Default>(
    io: &mut EvalIo<'_, '_>,
    add: impl Fn(T, T) -> T + Sync,
) -> KResult<()> {
    let inputs: Vec<&[T]> = (0..io.inputs.len())
        .map(|i| io.input(i)?.typed::<T>())
        .collect::<KResult<_>>()?;
    let par = io.par;
    let out = io.outputs[0].typed::<T>()?;
    par_chunks_mut(par, out, 16, PAR_MIN, |start, chunk| {
        chunk.fill(T::default());
        for x in &inputs {
            for (o, &v) in chunk.iter_mut().zip(&x[start..]) {
                *o = add(*o, v);
            }
        }
    });
    Ok(())
}

impl Kernel for AddN {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let first = shape_input(inputs, 0)?.shape;
        for i in 1..inputs.len() {
            let s = shape_input(inputs, i)?.shape;
            if s != first {
                return invalid(format!("ADD_N inputs have shapes {first:?} and {s:?}"));
            }
        }
        Ok(Some(vec![first.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Float32 => sum::<f32>(io, |a, b| a + b),
            _ => sum::<i32>(io, i32::wrapping_add),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};

    #[test]
    fn sums_same_shape_inputs() {
        let shapes: [(DType, &[usize]); 3] = [(DType::Float32, &[2, 2]); 3];
        let k = spec_build(
            build,
            "ADD_N",
            BuiltinOptions::None,
            &shapes,
            DType::Float32,
        )
        .unwrap();
        let ins = [
            (
                DType::Float32,
                &[2usize, 2][..],
                f32_bytes(&[1.0, 2.0, 3.0, -0.0]),
            ),
            (
                DType::Float32,
                &[2, 2][..],
                f32_bytes(&[10.0, 20.0, 30.0, -0.0]),
            ),
            (
                DType::Float32,
                &[2, 2][..],
                f32_bytes(&[0.5, 0.5, 0.5, -0.0]),
            ),
        ];
        let (s, o) = run_kernel(k.as_ref(), &ins, DType::Float32).unwrap();
        assert_eq!(s, vec![2, 2]);
        assert_eq!(bytes_f32(&o), [11.5, 22.5, 33.5, 0.0]);
        let bad = [
            ins[0].clone(),
            (DType::Float32, &[4usize][..], f32_bytes(&[0.0; 4])),
        ];
        assert!(run_kernel(k.as_ref(), &bad, DType::Float32).is_err());
        let one = spec_build(
            build,
            "ADD_N",
            BuiltinOptions::None,
            &shapes[..1],
            DType::Float32,
        );
        assert!(one.is_err());
    }
}
