//! SELECT and SELECT_V2: `condition ? x : y` elementwise.
//!
//! SELECT_V2 broadcasts all three inputs. SELECT (v1) has TensorFlow 1's
//! rules: x and y must have the same shape, and the condition either has
//! that shape too, is a scalar choosing the whole of x or y, or is rank 1
//! with one entry per slice along x's first dimension.
//! Data is moved untouched, so any fixed-size dtype works as long as x, y
//! and the output share their quantization.

use super::broadcast::{broadcast_shapes3, ternary};
use crate::api::*;

struct Select {
    v2: bool,
    elem: usize,
}

fn build(spec: &OpSpec<'_>, v2: bool) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(3..=3, 1)?;
    let (c, x, y, out) = (
        spec.input(0)?,
        spec.input(1)?,
        spec.input(2)?,
        spec.output(0)?,
    );
    if c.dtype != DType::Bool {
        return spec.unsupported(format!("condition dtype {}", c.dtype));
    }
    if y.dtype != x.dtype || out.dtype != x.dtype {
        return spec.unsupported("x, y and output dtypes differ");
    }
    use DType::*;
    if !matches!(
        x.dtype,
        Bool | Float32 | Uint8 | Int8 | Int16 | Int32 | Int64
    ) {
        return spec.unsupported(format!("dtype {}", x.dtype));
    }
    if x.quant != y.quant || x.quant != out.quant {
        return spec.unsupported("x, y and output quantization differ");
    }
    let elem = x.dtype.element_size().unwrap_or(1);
    Ok(Box::new(Select { v2, elem }))
}

pub fn build_select(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, false)
}
pub fn build_select_v2(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, true)
}

/// SELECT v1 output shape, or an error for shapes it does not accept.
fn v1_shape(c: &[usize], x: &[usize], y: &[usize]) -> KResult<Vec<usize>> {
    if x != y {
        return invalid(format!(
            "SELECT needs x and y of one shape, got {x:?} and {y:?}"
        ));
    }
    let ok = c == x || c.is_empty() || (c.len() == 1 && !x.is_empty() && c[0] == x[0]);
    if !ok {
        return invalid(format!(
            "SELECT condition shape {c:?} does not fit x shape {x:?}"
        ));
    }
    Ok(x.to_vec())
}

/// Typed broadcast select over elements of one size.
fn select_typed<T: bytemuck::Pod + Sync + Send>(
    io: &mut EvalIo<'_, '_>,
    c: &TensorRef<'_>,
    x: &TensorRef<'_>,
    y: &TensorRef<'_>,
) -> KResult<()> {
    let (xv, yv) = (x.typed::<T>()?, y.typed::<T>()?);
    let par = io.par;
    let out = &mut io.outputs[0];
    let shape = out.shape.to_vec();
    let o = out.typed::<T>()?;
    ternary(
        par,
        (c.data, c.shape),
        (xv, x.shape),
        (yv, y.shape),
        o,
        &shape,
        |k, p, q| if k != 0 { p } else { q },
    );
    Ok(())
}

impl Kernel for Select {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let c = shape_input(inputs, 0)?.shape;
        let x = shape_input(inputs, 1)?.shape;
        let y = shape_input(inputs, 2)?.shape;
        let shape = if self.v2 {
            broadcast_shapes3(c, x, y)?
        } else {
            v1_shape(c, x, y)?
        };
        Ok(Some(vec![shape]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (c, x, y) = (io.input(0)?, io.input(1)?, io.input(2)?);
        if !self.v2 && c.shape != x.shape {
            // Scalar or per-row condition: copy whole slices.
            let rows = c.num_elements();
            let out = io.outputs[0].bytes_mut();
            if rows == 0 || out.is_empty() {
                return Ok(());
            }
            let row = out.len() / rows;
            for (i, o) in out.chunks_mut(row).enumerate() {
                let src = if c.data[i] != 0 { x.data } else { y.data };
                o.copy_from_slice(&src[i * row..(i + 1) * row]);
            }
            return Ok(());
        }
        match self.elem {
            1 => select_typed::<u8>(io, &c, &x, &y),
            2 => select_typed::<u16>(io, &c, &x, &y),
            4 => select_typed::<u32>(io, &c, &x, &y),
            8 => select_typed::<u64>(io, &c, &x, &y),
            n => unsupported(format!("{n}-byte elements")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};

    fn run(
        build: Builder,
        c: (&[usize], Vec<u8>),
        x: (&[usize], &[f32]),
        y: (&[usize], &[f32]),
    ) -> KResult<(Vec<usize>, Vec<f32>)> {
        let k = spec_build(
            build,
            "SELECT",
            BuiltinOptions::None,
            &[
                (DType::Bool, c.0),
                (DType::Float32, x.0),
                (DType::Float32, y.0),
            ],
            DType::Float32,
        )?;
        let (s, o) = run_kernel(
            k.as_ref(),
            &[
                (DType::Bool, c.0, c.1),
                (DType::Float32, x.0, f32_bytes(x.1)),
                (DType::Float32, y.0, f32_bytes(y.1)),
            ],
            DType::Float32,
        )?;
        Ok((s, bytes_f32(&o)))
    }

    #[test]
    fn select_v2_broadcasts_all_inputs() {
        let (s, o) = run(
            build_select_v2,
            (&[2, 1], vec![1, 0]),
            (&[3], &[1.0, 2.0, 3.0]),
            (&[], &[-1.0]),
        )
        .unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(o, [1.0, 2.0, 3.0, -1.0, -1.0, -1.0]);
        assert!(run(
            build_select_v2,
            (&[2], vec![1, 0]),
            (&[3], &[1.0, 2.0, 3.0]),
            (&[], &[-1.0])
        )
        .is_err());
    }

    #[test]
    fn select_v1_rank_rules() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [-0.0, -1.0, -2.0, -3.0, -4.0, -5.0];
        // Rank-1 condition picks rows (values from ai_edge_litert).
        let (_, o) = run(
            build_select,
            (&[2], vec![1, 0]),
            (&[2, 3], &x),
            (&[2, 3], &y),
        )
        .unwrap();
        assert_eq!(o, [0.0, 1.0, 2.0, -3.0, -4.0, -5.0]);
        let (_, o) = run(build_select, (&[], vec![0]), (&[2, 3], &x), (&[2, 3], &y)).unwrap();
        assert_eq!(o, y);
        let (_, o) = run(
            build_select,
            (&[2, 3], vec![1, 0, 1, 0, 1, 0]),
            (&[2, 3], &x),
            (&[2, 3], &y),
        )
        .unwrap();
        assert_eq!(o, [0.0, -1.0, 2.0, -3.0, 4.0, -5.0]);
        // No general broadcasting in v1.
        assert!(run(
            build_select,
            (&[3], vec![1, 0, 1]),
            (&[2, 3], &x),
            (&[2, 3], &y)
        )
        .is_err());
        assert!(run(
            build_select,
            (&[2], vec![1, 0]),
            (&[2, 3], &x),
            (&[3], &y[..3])
        )
        .is_err());
    }
}
