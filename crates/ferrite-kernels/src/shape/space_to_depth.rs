//! SPACE_TO_DEPTH on NHWC: out[b, h, w, (dy·s + dx)·C + c] =
//! in[b, h·s + dy, w·s + dx, c]; height and width must divide by s.

use super::strided::{Dim, Views};
use super::util::{self, check_data_op, one};
use crate::api::*;

struct SpaceToDepth {
    block: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    check_data_op(spec, 0, false)?;
    let block = match spec.options {
        BuiltinOptions::SpaceToDepthOptions(o) => o.block_size,
        _ => 0,
    };
    if block < 1 {
        return invalid(format!("SPACE_TO_DEPTH block size {block}"));
    }
    Ok(Box::new(SpaceToDepth {
        block: block as usize,
    }))
}

impl SpaceToDepth {
    fn dims(&self, shape: &[usize]) -> KResult<[usize; 4]> {
        let s = self.block;
        match *shape {
            [b, h, w, c] if h % s == 0 && w % s == 0 => Ok([b, h / s, w / s, c]),
            _ => invalid(format!(
                "SPACE_TO_DEPTH needs NHWC with height and width divisible by {s}, got {shape:?}"
            )),
        }
    }
}

impl Kernel for SpaceToDepth {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let [b, h, w, c] = self.dims(shape_input(inputs, 0)?.shape)?;
        one(vec![b, h, w, c * self.block * self.block])
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let [b, h, w, c] = self.dims(x.shape)?;
        let s = self.block;
        let row = w * s * c;
        // Output order (b, h, w, dy, dx, c) read from the input layout.
        let dims = vec![
            Dim::new(b, (h * s * row) as isize),
            Dim::new(h, (s * row) as isize),
            Dim::new(w, (s * c) as isize),
            Dim::new(s, row as isize),
            Dim::new(s, c as isize),
            Dim::new(c, 1),
        ];
        util::run(&Views::one(0, dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;
    use ferrite_format::options::SpaceToDepthOptions;

    #[test]
    fn inverts_depth_to_space() {
        // tf.nn.space_to_depth(np.arange(16).reshape(1, 2, 4, 2), 2)
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let opts = BuiltinOptions::SpaceToDepthOptions(SpaceToDepthOptions { block_size: 2 });
        let got = run_op(
            build,
            "SPACE_TO_DEPTH",
            opts.clone(),
            &[Some(T::f32(&[1, 2, 4, 2], &x))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![1, 1, 2, 8]);
        assert_eq!(
            got[0].as_f32(),
            vec![0., 1., 2., 3., 8., 9., 10., 11., 4., 5., 6., 7., 12., 13., 14., 15.]
        );
        assert!(run_op(
            build,
            "SPACE_TO_DEPTH",
            opts,
            &[Some(T::f32(&[1, 3, 4, 1], &x[..12]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
