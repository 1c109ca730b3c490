//! DEPTH_TO_SPACE on NHWC: out[b, h·s + dy, w·s + dx, c] =
//! in[b, h, w, (dy·s + dx)·C' + c] with C' = C / s² (TF's DCR order).

use super::strided::{Dim, Views};
use super::util::{self, check_data_op, one};
use crate::api::*;

struct DepthToSpace {
    block: usize,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    check_data_op(spec, 0, false)?;
    let block = match spec.options {
        BuiltinOptions::DepthToSpaceOptions(o) => o.block_size,
        _ => 0,
    };
    if block < 1 {
        return invalid(format!("DEPTH_TO_SPACE block size {block}"));
    }
    Ok(Box::new(DepthToSpace {
        block: block as usize,
    }))
}

impl DepthToSpace {
    fn dims(&self, shape: &[usize]) -> KResult<[usize; 4]> {
        let s = self.block;
        match *shape {
            [b, h, w, c] if c % (s * s) == 0 => Ok([b, h, w, c / (s * s)]),
            _ => invalid(format!(
                "DEPTH_TO_SPACE needs NHWC with depth divisible by {}, got {shape:?}",
                s * s
            )),
        }
    }
}

impl Kernel for DepthToSpace {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let [b, h, w, c] = self.dims(shape_input(inputs, 0)?.shape)?;
        one(vec![b, h * self.block, w * self.block, c])
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let [b, h, w, c] = self.dims(x.shape)?;
        let s = self.block;
        let cin = c * s * s;
        // Output order (b, h, dy, w, dx, c) read from the input layout.
        let dims = vec![
            Dim::new(b, (h * w * cin) as isize),
            Dim::new(h, (w * cin) as isize),
            Dim::new(s, (s * c) as isize),
            Dim::new(w, cin as isize),
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
    use ferrite_format::options::DepthToSpaceOptions;

    #[test]
    fn matches_tensorflow_dcr_order() {
        // tf.nn.depth_to_space(np.arange(16).reshape(1, 1, 2, 8), 2)
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let opts = BuiltinOptions::DepthToSpaceOptions(DepthToSpaceOptions { block_size: 2 });
        let got = run_op(
            build,
            "DEPTH_TO_SPACE",
            opts.clone(),
            &[Some(T::f32(&[1, 1, 2, 8], &x))],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![1, 2, 4, 2]);
        assert_eq!(
            got[0].as_f32(),
            vec![0., 1., 2., 3., 8., 9., 10., 11., 4., 5., 6., 7., 12., 13., 14., 15.]
        );
        assert!(run_op(
            build,
            "DEPTH_TO_SPACE",
            opts,
            &[Some(T::f32(&[1, 1, 2, 6], &x[..12]))],
            &[T::out(DType::Float32)]
        )
        .is_err());
    }
}
