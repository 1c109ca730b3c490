//! TensorFlow ops that conversion leaves behind: they arrive as Flex ops
//! (`Flex<Name>`, attributes from the NodeDef) or, from `allow_custom_ops`,
//! as custom ops of the same name, and run with the same kernels.

pub mod fractional_pool;
pub mod linalg;

/// Runs one named-op kernel in tests: builds it with `attrs`, infers the
/// output shapes and evaluates it.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::api::*;

    /// An input or output tensor: dtype, shape, bytes.
    pub type Tensor = (DType, Vec<usize>, Vec<u8>);

    pub fn tensor<T: bytemuck::Pod>(dtype: DType, shape: &[usize], v: &[T]) -> Tensor {
        (dtype, shape.to_vec(), bytemuck::cast_slice(v).to_vec())
    }

    fn values<T: bytemuck::Pod, const N: usize>(t: &Tensor) -> Vec<T> {
        t.2.chunks_exact(N)
            .map(bytemuck::pod_read_unaligned)
            .collect()
    }

    pub fn f32s(t: &Tensor) -> Vec<f32> {
        values::<f32, 4>(t)
    }

    pub fn f64s(t: &Tensor) -> Vec<f64> {
        values::<f64, 8>(t)
    }

    pub fn i64s(t: &Tensor) -> Vec<i64> {
        values::<i64, 8>(t)
    }

    pub fn run(
        build: Builder,
        attrs: &[(&str, Attr)],
        inputs: &[Tensor],
        outputs: &[DType],
    ) -> KResult<Vec<Tensor>> {
        let attrs: Vec<(String, Attr)> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let in_specs: Vec<_> = inputs
            .iter()
            .map(|(dtype, shape, _)| {
                Some(TensorSpec {
                    name: "in",
                    dtype: *dtype,
                    shape,
                    quant: None,
                    data: None,
                })
            })
            .collect();
        let out_specs: Vec<_> = outputs
            .iter()
            .map(|&dtype| TensorSpec {
                name: "out",
                dtype,
                shape: &[],
                quant: None,
                data: None,
            })
            .collect();
        let spec = OpSpec {
            code: 32,
            name: "TEST",
            version: 1,
            options: &BuiltinOptions::None,
            options2: &Default::default(),
            custom_options: None,
            attrs: &attrs,
            inputs: &in_specs,
            outputs: &out_specs,
        };
        let kernel = build(&spec)?;
        let args: Vec<_> = inputs
            .iter()
            .map(|(dtype, shape, data)| {
                Some(ShapeArg {
                    dtype: *dtype,
                    shape,
                    value: Some(data),
                })
            })
            .collect();
        let shapes = kernel.output_shapes(&args)?.expect("shapes known at eval");
        let mut bufs: Vec<AlignedBuf> = shapes
            .iter()
            .zip(outputs)
            .map(|(s, d)| {
                let mut b = AlignedBuf::default();
                b.resize(s.iter().product::<usize>() * d.element_size().unwrap_or(1));
                b
            })
            .collect();
        let refs: Vec<_> = inputs
            .iter()
            .map(|(dtype, shape, data)| {
                Some(TensorRef {
                    dtype: *dtype,
                    shape,
                    data,
                    quant: None,
                })
            })
            .collect();
        let mut outs: Vec<_> = bufs
            .iter_mut()
            .zip(&shapes)
            .zip(outputs)
            .map(|((buf, shape), &dtype)| TensorMut {
                dtype,
                shape,
                buf,
                quant: None,
            })
            .collect();
        let par = crate::Parallel::new(1).unwrap();
        kernel.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outs,
            par: &par,
        })?;
        drop(outs);
        Ok(shapes
            .into_iter()
            .zip(outputs)
            .zip(bufs)
            .map(|((s, &d), b)| (d, s, b.bytes().to_vec()))
            .collect())
    }
}
