//! EMBEDDING_LOOKUP: output row `i` is row `ids[i]` of the table (input 1,
//! rank >= 2), ids INT32 1-D and bounds-checked. A table of another dtype
//! than the output is copied as is; an INT8/UINT8 table with a FLOAT32
//! output is dequantized with its (symmetric, per-tensor or per-row) scale.

use super::gather::rows;
use super::util::{self, check_movable, elements, is_quantized_type, one};
use crate::api::*;

enum Mode {
    Copy,
    /// Per-row scales (one entry means every row).
    Dequantize(Vec<f32>),
}

struct EmbeddingLookup {
    mode: Mode,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    if spec.input(0)?.dtype != DType::Int32 {
        return spec.unsupported(format!("ids of dtype {}", spec.input(0)?.dtype));
    }
    let table = spec.input(1)?;
    let out = spec.output(0)?;
    let mode = if table.dtype == out.dtype {
        check_movable(spec, table, false)?;
        if is_quantized_type(table.dtype) && table.quant != out.quant {
            return spec.unsupported("table and output quantization differ");
        }
        Mode::Copy
    } else if out.dtype == DType::Float32 && matches!(table.dtype, DType::Int8 | DType::Uint8) {
        let Some(q) = table.quant else {
            return spec.unsupported("hybrid lookup of an unquantized table");
        };
        if q.zero_point.iter().any(|&z| z != 0) {
            return spec.unsupported("hybrid lookup with a non-zero zero point");
        }
        if q.scale.len() > 1 && q.axis != 0 {
            return spec.unsupported("per-axis table scales off axis 0");
        }
        Mode::Dequantize(q.scale.clone())
    } else {
        return spec.unsupported(format!("{} table with {} output", table.dtype, out.dtype));
    };
    Ok(Box::new(EmbeddingLookup { mode }))
}

impl Kernel for EmbeddingLookup {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let ids = shape_input(inputs, 0)?.shape;
        let table = shape_input(inputs, 1)?.shape;
        if ids.len() != 1 || table.len() < 2 {
            return invalid(format!(
                "EMBEDDING_LOOKUP of ids {ids:?} in a table {table:?}"
            ));
        }
        let mut out = table.to_vec();
        out[0] = ids[0];
        one(out)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (ids, table) = (io.input(0)?, io.input(1)?);
        let n = table.shape[0];
        let row = elements(&table.shape[1..])?;
        let ids = ids.typed::<i32>()?;
        let mut picked = Vec::with_capacity(ids.len());
        for &i in ids {
            if i < 0 || i as usize >= n {
                return invalid(format!("EMBEDDING_LOOKUP id {i} out of range [0, {n})"));
            }
            picked.push(i as usize);
        }
        match &self.mode {
            Mode::Copy => util::run(
                &rows(picked.iter().map(|&i| i * row).collect(), row),
                &[table],
                io.outputs,
                io.par,
            ),
            Mode::Dequantize(scales) => {
                if scales.len() != 1 && scales.len() != n {
                    return invalid(format!("{} table scales for {n} rows", scales.len()));
                }
                // LiteRT reads UINT8 tables as INT8 here too.
                let q: &[i8] = table.typed::<i8>()?;
                let out = io.outputs[0].f32()?;
                for (o, &i) in out.chunks_exact_mut(row.max(1)).zip(&picked) {
                    let scale = if scales.len() == 1 {
                        scales[0]
                    } else {
                        scales[i]
                    };
                    for (v, &x) in o.iter_mut().zip(&q[i * row..(i + 1) * row]) {
                        *v = x as f32 * scale;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;

    #[test]
    fn looks_up_rows_and_dequantizes_hybrid_tables() {
        let table = T::f32(&[3, 2], &[0., 1., 10., 11., 20., 21.]);
        let got = run_op(
            build,
            "EMBEDDING_LOOKUP",
            BuiltinOptions::None,
            &[Some(T::i32(&[3], &[2, 0, 2])), Some(table.clone())],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![3, 2]);
        assert_eq!(got[0].as_f32(), vec![20., 21., 0., 1., 20., 21.]);
        for bad in [3, -1] {
            let r = run_op(
                build,
                "EMBEDDING_LOOKUP",
                BuiltinOptions::None,
                &[Some(T::i32(&[1], &[bad])), Some(table.clone())],
                &[T::out(DType::Float32)],
            );
            assert!(r.is_err());
        }
        let q = T::i8(&[2, 2], &[1, -2, 3, 4]).quant(&[0.5, 0.25], &[0, 0], 0);
        let got = run_op(
            build,
            "EMBEDDING_LOOKUP",
            BuiltinOptions::None,
            &[Some(T::i32(&[2], &[1, 0])), Some(q)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![0.75, 1.0, 0.5, -1.0]);
        let u = T::u8(&[1, 2], &[200, 3]).quant(&[1.0], &[0], 0);
        let got = run_op(
            build,
            "EMBEDDING_LOOKUP",
            BuiltinOptions::None,
            &[Some(T::i32(&[1], &[0])), Some(u)],
            &[T::out(DType::Float32)],
        )
        .unwrap();
        assert_eq!(got[0].as_f32(), vec![-56.0, 3.0]);
        let asym = T::i8(&[1, 2], &[1, 2]).quant(&[1.0], &[3], 0);
        assert!(matches!(
            run_op(
                build,
                "EMBEDDING_LOOKUP",
                BuiltinOptions::None,
                &[Some(T::i32(&[1], &[0])), Some(asym)],
                &[T::out(DType::Float32)]
            ),
            Err(KernelError::Unsupported(_))
        ));
    }
}
