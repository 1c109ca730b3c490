//! ARG_MAX (and, through `build_arg`, ARG_MIN): the index of the first
//! extreme value along one axis (axis input int32/int64 with one element),
//! written as int32 or int64. Comparisons are strict, so ties keep the
//! first index and a NaN only wins when it comes first, as in LiteRT.

use crate::api::*;

struct ArgExtreme {
    max: bool,
    dtype: DType,
    out: DType,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_arg(spec, true)
}

pub fn build_arg(spec: &OpSpec<'_>, max: bool) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let x = spec.input(0)?;
    let out = spec.output(0)?.dtype;
    if !matches!(out, DType::Int32 | DType::Int64) {
        return spec.unsupported(format!("output dtype {out}"));
    }
    let declared = match spec.options {
        BuiltinOptions::ArgMaxOptions(o) => Some(o.output_type),
        BuiltinOptions::ArgMinOptions(o) => Some(o.output_type),
        _ => None,
    };
    if let Some(t) = declared.and_then(DType::from_code) {
        if t != out && matches!(t, DType::Int32 | DType::Int64) {
            return invalid(format!(
                "{}: output_type {t} but output tensor is {out}",
                spec.name
            ));
        }
    }
    let axis = spec.input(1)?.dtype;
    if !matches!(axis, DType::Int32 | DType::Int64) {
        return invalid(format!(
            "{}: axis must be int32 or int64, got {axis}",
            spec.name
        ));
    }
    // Quantized int8/uint8 keep their order (positive scale), so the raw
    // values give the same index.
    match x.dtype {
        DType::Float32 | DType::Int32 | DType::Int64 | DType::Int8 | DType::Uint8 | DType::Bool => {
        }
        other => return spec.unsupported(format!("input dtype {other}")),
    }
    Ok(Box::new(ArgExtreme {
        max,
        dtype: x.dtype,
        out,
    }))
}

/// (outer, axis size, inner) of the reduction, after checking the axis.
fn split(shape: &[usize], axis: &ShapeArg<'_>) -> KResult<Option<(usize, usize, usize, usize)>> {
    let Some(v) = axis.int_values()? else {
        return Ok(None);
    };
    let &[a] = v.as_slice() else {
        return invalid(format!("axis must have one element, has {}", v.len()));
    };
    let axis = crate::common::normalize_axis(a, shape.len())?;
    if shape.is_empty() {
        return invalid("ARG_MAX/ARG_MIN need an input of rank 1 or more");
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    Ok(Some((axis, outer, shape[axis], inner)))
}

impl Kernel for ArgExtreme {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let Some((axis, ..)) = split(x.shape, shape_input(inputs, 1)?)? else {
            return Ok(None);
        };
        let mut s = x.shape.to_vec();
        s.remove(axis);
        Ok(Some(vec![s]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let Some((_, outer, n, inner)) = split(x.shape, &io.input(1)?.as_shape_arg())? else {
            return invalid("axis value missing");
        };
        if n == 0 && outer * inner > 0 {
            return invalid("ARG_MAX/ARG_MIN over an empty axis");
        }
        let elem = x.dtype.element_size().unwrap_or(0);
        if x.data.len() != outer * n * inner * elem || io.outputs[0].num_elements() != outer * inner
        {
            return invalid("ARG_MAX/ARG_MIN buffers do not match their shapes");
        }
        let dims = (outer, n, inner);
        let out = &mut io.outputs[0];
        match self.out {
            DType::Int32 => self.dispatch(x, dims, out.typed::<i32>()?),
            DType::Int64 => self.dispatch(x, dims, out.typed::<i64>()?),
            other => unsupported(format!("output dtype {other}")),
        }
    }
}

impl ArgExtreme {
    fn dispatch<O: TryFrom<usize> + Copy + Default>(
        &self,
        x: TensorRef<'_>,
        dims: (usize, usize, usize),
        out: &mut [O],
    ) -> KResult<()> {
        match self.dtype {
            DType::Float32 => arg(x.f32()?, dims, out, self.max),
            DType::Int32 => arg(x.typed::<i32>()?, dims, out, self.max),
            DType::Int64 => arg(x.typed::<i64>()?, dims, out, self.max),
            DType::Int8 => arg(x.typed::<i8>()?, dims, out, self.max),
            // Bools are 0/1 bytes, ordered as uint8.
            DType::Uint8 | DType::Bool => arg(x.data, dims, out, self.max),
            other => unsupported(format!("input dtype {other}")),
        }
    }
}

fn arg<T: PartialOrd + Copy, O: TryFrom<usize> + Copy + Default>(
    x: &[T],
    (outer, n, inner): (usize, usize, usize),
    out: &mut [O],
    max: bool,
) -> KResult<()> {
    if n > 0 && O::try_from(n - 1).is_err() {
        return invalid("index does not fit the output dtype");
    }
    let better = |v: T, best: T| if max { v > best } else { v < best };
    // Index conversion cannot fail after the check above.
    let idx = |i: usize| O::try_from(i).unwrap_or_default();
    if inner == 1 {
        for (row, o) in x.chunks_exact(n.max(1)).zip(out.iter_mut()).take(outer) {
            let (mut best, mut at) = (row[0], 0);
            for (i, &v) in row.iter().enumerate().skip(1) {
                if better(v, best) {
                    best = v;
                    at = i;
                }
            }
            *o = idx(at);
        }
        return Ok(());
    }
    let mut best: Vec<T> = Vec::with_capacity(inner);
    let mut at = vec![0usize; inner];
    for b in 0..outer {
        let slab = &x[b * n * inner..(b + 1) * n * inner];
        best.clear();
        best.extend_from_slice(&slab[..inner]);
        at.fill(0);
        for i in 1..n {
            for (j, &v) in slab[i * inner..(i + 1) * inner].iter().enumerate() {
                if better(v, best[j]) {
                    best[j] = v;
                    at[j] = i;
                }
            }
        }
        for (o, &a) in out[b * inner..(b + 1) * inner].iter_mut().zip(&at) {
            *o = idx(a);
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::api::*;
    use ferrite_format::options::ArgMaxOptions;

    /// Runs ARG_MAX/ARG_MIN; returns (shape, indices as i64).
    pub fn run_arg(
        build: Builder,
        dtype: DType,
        x: &[u8],
        shape: &[usize],
        axis: i64,
        out: DType,
    ) -> KResult<(Vec<usize>, Vec<i64>)> {
        let options = BuiltinOptions::ArgMaxOptions(ArgMaxOptions {
            output_type: out.code(),
        });
        let xs = TensorSpec {
            name: "x",
            dtype,
            shape,
            quant: None,
            data: None,
        };
        let ab = axis.to_le_bytes();
        let a = TensorSpec {
            name: "axis",
            dtype: DType::Int64,
            shape: &[1],
            quant: None,
            data: Some(&ab),
        };
        let os = TensorSpec { dtype: out, ..xs };
        let spec = OpSpec {
            code: 0,
            name: "ARG",
            version: 1,
            options: &options,
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &[Some(xs), Some(a)],
            outputs: &[os],
        };
        let k = build(&spec)?;
        let args = [
            Some(ShapeArg {
                dtype,
                shape,
                value: Some(x),
            }),
            Some(ShapeArg {
                dtype: DType::Int64,
                shape: &[1],
                value: Some(&ab),
            }),
        ];
        let out_shape = k.output_shapes(&args)?.unwrap().remove(0);
        let mut buf = AlignedBuf::default();
        let elem = out.element_size().unwrap();
        buf.resize(out_shape.iter().product::<usize>() * elem);
        let inputs = [
            Some(TensorRef {
                dtype,
                shape,
                data: x,
                quant: None,
            }),
            Some(TensorRef {
                dtype: DType::Int64,
                shape: &[1],
                data: &ab,
                quant: None,
            }),
        ];
        let mut outputs = [TensorMut {
            dtype: out,
            shape: &out_shape,
            buf: &mut buf,
            quant: None,
        }];
        k.eval(&mut EvalIo {
            inputs: &inputs,
            outputs: &mut outputs,
            par: &crate::Parallel::single(),
        })?;
        let v = match out {
            DType::Int32 => bytemuck::cast_slice::<u8, i32>(buf.bytes())
                .iter()
                .map(|&v| v as i64)
                .collect(),
            _ => bytemuck::cast_slice::<u8, i64>(buf.bytes()).to_vec(),
        };
        Ok((out_shape, v))
    }

    #[test]
    fn first_index_of_the_maximum() {
        // [2,3]: ties keep the first index; axis 1 then axis -2.
        let x = [1.0f32, 5.0, 5.0, 7.0, -1.0, 7.0];
        let b: &[u8] = bytemuck::cast_slice(&x);
        let (s, y) = run_arg(super::build, DType::Float32, b, &[2, 3], 1, DType::Int32).unwrap();
        assert_eq!((s, y), (vec![2], vec![1, 0]));
        let (s, y) = run_arg(super::build, DType::Float32, b, &[2, 3], -2, DType::Int64).unwrap();
        assert_eq!((s, y), (vec![3], vec![1, 0, 1]));
        let (_, y) = run_arg(
            super::build,
            DType::Int8,
            &[0xff, 0x02, 0x02],
            &[3],
            0,
            DType::Int32,
        )
        .unwrap();
        assert_eq!(y, vec![1]);
        let (_, y) = run_arg(super::build, DType::Bool, &[0, 1, 1], &[3], 0, DType::Int64).unwrap();
        assert_eq!(y, vec![1]);
    }

    #[test]
    fn bad_axis_and_empty_axis_are_errors() {
        let b: &[u8] = bytemuck::cast_slice(&[1.0f32, 2.0]);
        assert!(run_arg(super::build, DType::Float32, b, &[2], 1, DType::Int32).is_err());
        let empty: &[u8] = bytemuck::cast_slice::<f32, u8>(&[]);
        assert!(run_arg(
            super::build,
            DType::Float32,
            empty,
            &[2, 0],
            1,
            DType::Int32
        )
        .is_err());
        // An empty outer dimension is fine: nothing to write.
        let (s, _) = run_arg(
            super::build,
            DType::Float32,
            empty,
            &[0, 3],
            1,
            DType::Int32,
        )
        .unwrap();
        assert_eq!(s, vec![0]);
    }
}
