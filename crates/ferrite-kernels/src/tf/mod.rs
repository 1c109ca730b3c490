//! TensorFlow ops by their TF name, as Flex ops (NodeDef attributes) or
//! custom ops of the same name. Each submodule has an `OPS` table, listed
//! in [`crate::registry::TF_FAMILIES`].

use crate::api::*;
use crate::strings;

pub mod bincount;
pub mod ragged_to_tensor;
pub mod special_math;
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
