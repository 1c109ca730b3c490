//! TensorFlow ops by their TF name, as Flex ops (NodeDef attributes) or
//! custom ops of the same name. Each submodule has an `OPS` table, listed
//! in [`crate::registry::TF_FAMILIES`].

use crate::api::*;
use crate::strings;

pub mod bincount;
pub mod fractional_pool;
pub mod hashes;
pub mod linalg;
pub mod ragged_to_tensor;
pub mod special_math;
pub mod string_hash;
pub mod string_length;
pub mod string_split;

/// A string attribute, `default` when absent.
pub(crate) fn attr_str<'a>(spec: &OpSpec<'a>, key: &str, default: &'a str) -> KResult<&'a str> {
    match spec.attr(key) {
        None => Ok(default),
        Some(Attr::Str(s)) => Ok(s),
        Some(other) => invalid(format!(
            "{}: attr {key} should be a string, is {other:?}",
            spec.name
        )),
    }
}

/// An int attribute, `default` when absent.
pub(crate) fn attr_int(spec: &OpSpec<'_>, key: &str, default: i64) -> KResult<i64> {
    match spec.attr(key) {
        None => Ok(default),
        Some(Attr::Int(i)) => Ok(*i),
        Some(other) => invalid(format!(
            "{}: attr {key} should be an int, is {other:?}",
            spec.name
        )),
    }
}

/// A bool attribute, `default` when absent.
pub(crate) fn attr_bool(spec: &OpSpec<'_>, key: &str, default: bool) -> KResult<bool> {
    match spec.attr(key) {
        None => Ok(default),
        Some(Attr::Bool(b)) => Ok(*b),
        Some(other) => invalid(format!(
            "{}: attr {key} should be a bool, is {other:?}",
            spec.name
        )),
    }
}

/// The strings of a STRING tensor, one per element.
pub(crate) fn string_values<'a>(t: &TensorRef<'a>) -> KResult<Vec<&'a [u8]>> {
    t.expect(DType::String)?;
    let v = strings::decode(t.data)?;
    if v.len() != t.num_elements() {
        return invalid(format!(
            "string tensor of shape {:?} holds {} strings",
            t.shape,
            v.len()
        ));
    }
    Ok(v)
}

/// The strings of a STRING shape argument (a known value).
pub(crate) fn arg_strings<'a>(a: &ShapeArg<'a>) -> KResult<Option<Vec<&'a [u8]>>> {
    let Some(v) = a.value else { return Ok(None) };
    let t = TensorRef {
        dtype: a.dtype,
        shape: a.shape,
        data: v,
        quant: None,
    };
    string_values(&t).map(Some)
}

/// The one element of a scalar (or single-element) STRING input.
pub(crate) fn scalar_string<'a>(t: &TensorRef<'a>, what: &str) -> KResult<&'a [u8]> {
    match string_values(t)?.as_slice() {
        [s] => Ok(s),
        v => invalid(format!("{what} must hold one string, holds {}", v.len())),
    }
}

/// Converts a count or index to i64 for an int64 output.
pub(crate) fn to_i64(n: usize) -> KResult<i64> {
    i64::try_from(n).map_err(|_| KernelError::InvalidInput(format!("{n} exceeds INT64")))
}

#[cfg(test)]
pub(crate) mod test_util {
    pub use crate::api::{Attr, DType};
    pub use crate::shape::testing::{run_named, T};

    pub fn s(v: &str) -> Attr {
        Attr::Str(v.to_string())
    }
}

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
