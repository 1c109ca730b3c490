//! What both resizes share: the NHWC input and the int32 [new_h, new_w]
//! size input that fixes the output shape.

use crate::api::*;

/// Checks the size input's declared dtype.
pub fn check_size_spec(spec: &OpSpec<'_>) -> KResult<()> {
    spec.expect_arity(2..=2, 1)?;
    let size = spec.input(1)?;
    if size.dtype != DType::Int32 {
        return invalid(format!(
            "{}: size must be int32, got {}",
            spec.name, size.dtype
        ));
    }
    Ok(())
}

/// The requested (height, width); `Ok(None)` while the value is unknown.
pub fn new_size(size: &ShapeArg<'_>) -> KResult<Option<(usize, usize)>> {
    if size.shape != [2] {
        return invalid(format!(
            "resize size must have shape [2], got {:?}",
            size.shape
        ));
    }
    let Some(v) = size.int_values()? else {
        return Ok(None);
    };
    match v.as_slice() {
        &[h, w] if h >= 0 && w >= 0 => Ok(Some((h as usize, w as usize))),
        other => invalid(format!("resize size {other:?} is negative")),
    }
}

/// The output shape [batch, new_h, new_w, depth] for a 4-D input.
pub fn output_shape(inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
    let x = shape_input(inputs, 0)?;
    let &[b, h, w, c] = x.shape else {
        return invalid(format!("resize needs a 4-D NHWC input, got {:?}", x.shape));
    };
    let Some((nh, nw)) = new_size(shape_input(inputs, 1)?)? else {
        return Ok(None);
    };
    if (h == 0 || w == 0) && b * nh * nw * c > 0 {
        return invalid("cannot resize an empty image to a non-empty one");
    }
    Ok(Some(vec![vec![b, nh, nw, c]]))
}

/// (batch, in_h, in_w, depth, out_h, out_w) at eval time, checked against
/// the buffer lengths (in bytes, `elem` per element).
pub fn dims(x: &TensorRef<'_>, out: &TensorMut<'_>, elem: usize) -> KResult<[usize; 6]> {
    match (x.shape, out.shape) {
        (&[b, h, w, c], &[ob, oh, ow, oc])
            if ob == b
                && oc == c
                && x.data.len() == b * h * w * c * elem
                && out.buf.bytes().len() == b * oh * ow * c * elem
                && (h > 0 && w > 0 || b * oh * ow * c == 0) =>
        {
            Ok([b, h, w, c, oh, ow])
        }
        _ => invalid("resize shapes or buffers are inconsistent"),
    }
}
