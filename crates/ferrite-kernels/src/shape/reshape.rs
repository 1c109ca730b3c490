//! RESHAPE: the new shape comes from the shape input when present (it wins,
//! as in LiteRT), else from ReshapeOptions.new_shape; one -1 is inferred.

use crate::api::*;

struct Reshape {
    from_options: Option<Vec<i64>>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=2, 1)?;
    let from_options = match spec.options {
        BuiltinOptions::ReshapeOptions(o) => o
            .new_shape
            .as_ref()
            .map(|v| v.iter().map(|&x| x as i64).collect()),
        _ => None,
    };
    if spec.input(0)?.dtype != spec.output(0)?.dtype {
        return spec.unsupported("output dtype differs from input");
    }
    Ok(Box::new(Reshape { from_options }))
}

/// Resolves a requested shape (with at most one -1) against an element count.
pub fn resolve_shape(requested: &[i64], elements: usize) -> KResult<Vec<usize>> {
    let mut unknown = None;
    let mut known = 1usize;
    for (i, &d) in requested.iter().enumerate() {
        match d {
            -1 if unknown.is_none() => unknown = Some(i),
            d if d >= 0 => {
                known = known
                    .checked_mul(d as usize)
                    .ok_or_else(|| KernelError::InvalidInput("shape overflows".into()))?
            }
            _ => return invalid(format!("bad target shape {requested:?}")),
        }
    }
    let mut out: Vec<usize> = requested.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = unknown {
        if known == 0 || !elements.is_multiple_of(known) {
            return invalid(format!(
                "cannot reshape {elements} elements to {requested:?}"
            ));
        }
        out[i] = elements / known;
    } else if known != elements {
        return invalid(format!(
            "cannot reshape {elements} elements to {requested:?}"
        ));
    }
    Ok(out)
}

impl Kernel for Reshape {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let elements: usize = x.shape.iter().product();
        // A shape input of shape [0] or absent means "use the options".
        let requested = match inputs.get(1).copied().flatten() {
            Some(s) if s.shape.iter().product::<usize>() > 0 || self.from_options.is_none() => {
                match s.int_values()? {
                    Some(v) => v,
                    None => return Ok(None),
                }
            }
            _ => match &self.from_options {
                Some(v) => v.clone(),
                None => return invalid("RESHAPE has neither a shape input nor new_shape"),
            },
        };
        Ok(Some(vec![resolve_shape(&requested, elements)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let out = io.outputs[0].bytes_mut();
        if out.len() != x.data.len() {
            return invalid("RESHAPE output size differs from input");
        }
        out.copy_from_slice(x.data);
        Ok(())
    }
}
