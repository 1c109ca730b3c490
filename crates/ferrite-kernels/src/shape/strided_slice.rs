//! STRIDED_SLICE with LiteRT's exact index rules: ellipsis and new-axis
//! masks are first expanded into an "effective" input shape, then each
//! effective axis gets a start and an end (negative values count from the
//! end, then clamp to [0, size] going forward or [-1, size-1] going
//! backward; begin/end masks take the whole extent; a shrunk axis takes one
//! element). With `offset`, `end` is a length relative to `begin`.

use super::strided::{strides, Dim, Views};
use super::util::{self, check_data_op, check_index_dtype, one, values};
use crate::api::*;

struct StridedSlice {
    begin_mask: u32,
    end_mask: u32,
    ellipsis_mask: u32,
    new_axis_mask: u32,
    shrink_axis_mask: u32,
    offset: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(4..=4, 1)?;
    check_data_op(spec, 0, true)?;
    for i in 1..4 {
        check_index_dtype(spec, i, &[DType::Int32, DType::Int64])?;
    }
    let BuiltinOptions::StridedSliceOptions(o) = spec.options else {
        return invalid("STRIDED_SLICE without StridedSliceOptions");
    };
    let k = StridedSlice {
        begin_mask: o.begin_mask as u32,
        end_mask: o.end_mask as u32,
        ellipsis_mask: o.ellipsis_mask as u32,
        new_axis_mask: o.new_axis_mask as u32,
        shrink_axis_mask: o.shrink_axis_mask as u32,
        offset: o.offset,
    };
    if k.offset && (k.ellipsis_mask != 0 || k.new_axis_mask != 0) {
        return spec.unsupported("offset with ellipsis or new-axis masks");
    }
    Ok(Box::new(k))
}

fn bit(mask: u32, i: usize) -> bool {
    i < 32 && mask & (1 << i) != 0
}

/// One effective axis after mask expansion.
#[derive(Debug, Clone, Copy)]
struct Axis {
    size: i64,
    begin: i64,
    end: i64,
    stride: i64,
    begin_mask: bool,
    end_mask: bool,
    shrink: bool,
}

/// Where the copy reads from and how the output is shaped.
struct Plan {
    out_shape: Vec<usize>,
    offset: isize,
    dims: Vec<Dim>,
}

impl StridedSlice {
    /// LiteRT's mask expansion: the effective axes and their parameters.
    fn effective_axes(
        &self,
        shape: &[usize],
        begin: &[i64],
        end: &[i64],
        stride: &[i64],
    ) -> KResult<Vec<Axis>> {
        let count = begin.len();
        let bad = || {
            KernelError::InvalidInput(format!(
                "STRIDED_SLICE masks do not fit input rank {}",
                shape.len()
            ))
        };
        let num_add_axis = (0..count)
            .filter(|&i| !bit(self.ellipsis_mask, i) && bit(self.new_axis_mask, i))
            .count();
        let dims = shape.len() + num_add_axis;
        let (mut ellipsis, mut new_axis) = (vec![false; dims], vec![false; dims]);
        let (mut ellipsis_start, mut expanded) = (dims, 0usize);
        let mut i = 0;
        while i < dims {
            if bit(self.ellipsis_mask, i) {
                ellipsis_start = i;
                let stop = (i + 1).max(
                    (i + 1 + num_add_axis + shape.len())
                        .saturating_sub(count)
                        .min(dims),
                );
                expanded = stop - i - 1;
                ellipsis[i..stop].iter_mut().for_each(|e| *e = true);
                i = stop;
                continue;
            }
            new_axis[i] = bit(self.new_axis_mask, i - expanded);
            i += 1;
        }
        let (mut added_ellipsis, mut added_axes) = (0usize, 0usize);
        let mut axes = Vec::with_capacity(dims);
        for i in 0..dims {
            let input_dim = |added: usize| -> KResult<i64> {
                i.checked_sub(added)
                    .and_then(|j| shape.get(j))
                    .map(|&d| d as i64)
                    .ok_or_else(bad)
            };
            let full = |size| Axis {
                size,
                begin: 0,
                end: 0,
                stride: 1,
                begin_mask: true,
                end_mask: true,
                shrink: false,
            };
            axes.push(if ellipsis[i] {
                added_ellipsis = i.saturating_sub(ellipsis_start);
                full(input_dim(added_axes)?)
            } else if new_axis[i] {
                added_axes += 1;
                Axis {
                    end: 1,
                    begin_mask: false,
                    end_mask: false,
                    ..full(1)
                }
            } else if i >= count + expanded {
                full(input_dim(added_axes)?)
            } else {
                let j = i
                    .checked_sub(added_ellipsis)
                    .filter(|&j| j < count)
                    .ok_or_else(bad)?;
                Axis {
                    size: input_dim(added_axes)?,
                    begin: begin[j],
                    end: end[j],
                    stride: stride[j],
                    begin_mask: bit(self.begin_mask, j),
                    end_mask: bit(self.end_mask, j),
                    shrink: bit(self.shrink_axis_mask, j),
                }
            });
        }
        Ok(axes)
    }

    fn plan(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Plan>> {
        let shape = shape_input(inputs, 0)?.shape;
        for i in 1..4 {
            if shape_input(inputs, i)?.shape.len() != 1 {
                return invalid("STRIDED_SLICE begin, end and strides must be 1-D");
            }
        }
        let (begin, end, stride) = (values(inputs, 1)?, values(inputs, 2)?, values(inputs, 3)?);
        let (Some(end), Some(stride)) = (end, stride) else {
            return Ok(None);
        };
        let begin = match begin {
            Some(b) => b,
            // With `offset` the shape only needs the lengths.
            None if self.offset => vec![0; end.len()],
            None => return Ok(None),
        };
        if begin.len() != end.len() || stride.len() != end.len() || end.len() > 31 {
            return invalid(format!(
                "STRIDED_SLICE has {} begin, {} end, {} strides",
                begin.len(),
                end.len(),
                stride.len()
            ));
        }
        if self.offset && end.len() != shape.len() {
            return invalid("STRIDED_SLICE with offset needs one index per dimension");
        }
        let axes = self.effective_axes(shape, &begin, &end, &stride)?;
        let eff_shape: Vec<usize> = axes.iter().map(|a| a.size as usize).collect();
        let eff_strides = strides(&eff_shape);
        let mut out_shape = Vec::new();
        let mut offset = 0isize;
        let mut dims = Vec::new();
        let mut elements_read = 1usize;
        for (a, &st) in axes.iter().zip(&eff_strides) {
            if a.stride == 0 || a.stride < i32::MIN as i64 + 1 {
                return invalid(format!(
                    "STRIDED_SLICE stride {} is not supported",
                    a.stride
                ));
            }
            let start = start_for_axis(a);
            let stop = end_for_axis(a, start, self.offset);
            let reads = count(stop - start, a.stride);
            if a.shrink {
                offset += start as isize * st as isize;
                elements_read *= reads;
                continue;
            }
            let declared = if self.offset {
                count(a.end, a.stride)
            } else {
                reads
            };
            out_shape.push(declared);
            elements_read *= reads;
            if reads > 0 {
                offset += start as isize * st as isize;
            }
            dims.push(Dim::new(reads, (a.stride as isize) * st as isize));
        }
        if elements_read != out_shape.iter().product::<usize>() {
            return invalid(format!(
                "STRIDED_SLICE reads {elements_read} elements for output {out_shape:?}"
            ));
        }
        Ok(Some(Plan {
            out_shape,
            offset,
            dims,
        }))
    }
}

fn clamp_index(v: i64, a: &Axis) -> i64 {
    let v = if v < 0 { v + a.size } else { v };
    if a.stride > 0 {
        v.clamp(0, a.size)
    } else {
        v.clamp(-1, a.size - 1)
    }
}

fn start_for_axis(a: &Axis) -> i64 {
    if a.begin_mask {
        return if a.stride > 0 { 0 } else { a.size - 1 };
    }
    clamp_index(a.begin, a)
}

fn end_for_axis(a: &Axis, start: i64, offset: bool) -> i64 {
    if a.shrink {
        return if start >= a.size { start } else { start + 1 };
    }
    if a.end_mask {
        return if a.stride > 0 { a.size } else { -1 };
    }
    clamp_index(if offset { a.end + start } else { a.end }, a)
}

/// Elements visited walking `span` with `stride` (LiteRT's rounding).
fn count(span: i64, stride: i64) -> usize {
    if (span < 0) != (stride < 0) || span == 0 {
        0
    } else if stride < 0 {
        ((span + 1) / stride + 1) as usize
    } else {
        ((span - 1) / stride + 1) as usize
    }
}

impl Kernel for StridedSlice {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        match self.plan(inputs)? {
            Some(p) => one(p.out_shape),
            None => Ok(None),
        }
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let p = self
            .plan(&util::shape_args(io))?
            .ok_or_else(|| KernelError::InvalidInput("indices unknown".into()))?;
        util::run(&Views::one(p.offset, p.dims), &[x], io.outputs, io.par)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_op, T};
    use super::*;
    use ferrite_format::options::StridedSliceOptions;

    #[derive(Default)]
    struct Case {
        begin: Vec<i32>,
        end: Vec<i32>,
        strides: Vec<i32>,
        masks: [i32; 5],
        offset: bool,
        shape: Vec<usize>,
        values: Vec<f32>,
    }

    fn run_case(shape: &[usize], c: &Case) -> KResult<Vec<T>> {
        let n: usize = shape.iter().product();
        let x: Vec<f32> = (0..n).map(|v| v as f32).collect();
        let [begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask] = c.masks;
        let opts = BuiltinOptions::StridedSliceOptions(StridedSliceOptions {
            begin_mask,
            end_mask,
            ellipsis_mask,
            new_axis_mask,
            shrink_axis_mask,
            offset: c.offset,
        });
        let k = c.begin.len();
        run_op(
            build,
            "STRIDED_SLICE",
            opts,
            &[
                Some(T::f32(shape, &x)),
                Some(T::i32(&[k], &c.begin)),
                Some(T::i32(&[k], &c.end)),
                Some(T::i32(&[k], &c.strides)),
            ],
            &[T::out(DType::Float32)],
        )
    }

    #[test]
    fn matches_tensorflow_on_mask_and_stride_cases() {
        // Expected values from tf.strided_slice on np.arange(60).reshape(3,4,5).
        let cases = [
            // x[1:3, ::2, -2:]
            Case {
                begin: vec![1, 0, -2],
                end: vec![3, 0, 5],
                strides: vec![1, 2, 1],
                masks: [0b010, 0b010, 0, 0, 0],
                shape: vec![2, 2, 2],
                values: vec![23., 24., 33., 34., 43., 44., 53., 54.],
                ..Default::default()
            },
            // x[::-1, 3, ::-2]: shrink and negative strides.
            Case {
                begin: vec![0, 3, 0],
                end: vec![0, 4, 0],
                strides: vec![-1, 1, -2],
                masks: [0b101, 0b101, 0, 0, 0b010],
                shape: vec![3, 3],
                values: vec![59., 57., 55., 39., 37., 35., 19., 17., 15.],
                ..Default::default()
            },
            // x[..., 1]: ellipsis then shrink.
            Case {
                begin: vec![0, 1],
                end: vec![0, 2],
                strides: vec![1, 1],
                masks: [0, 0, 0b01, 0, 0b10],
                shape: vec![3, 4],
                values: (0..12).map(|i| (i * 5 + 1) as f32).collect(),
                ..Default::default()
            },
            // x[tf.newaxis, 2, 1:3, -1]: new axis, shrinks, slice.
            Case {
                begin: vec![0, 2, 1, -1],
                end: vec![1, 3, 3, 0],
                strides: vec![1, 1, 1, 1],
                masks: [0, 0, 0, 0b0001, 0b1010],
                shape: vec![1, 2],
                values: vec![49., 54.],
                ..Default::default()
            },
            // x[-1:-4:-1, 10:, 0]: clamping past the ends.
            Case {
                begin: vec![-1, 10, 0],
                end: vec![-4, 20, 1],
                strides: vec![-1, 1, 1],
                masks: [0, 0, 0, 0, 0b100],
                shape: vec![3, 0],
                values: vec![],
                ..Default::default()
            },
            // offset: begin [1, 1, 0] with lengths [2, 2, 3].
            Case {
                begin: vec![1, 1, 0],
                end: vec![2, 2, 3],
                strides: vec![1, 1, 1],
                offset: true,
                shape: vec![2, 2, 3],
                values: vec![25., 26., 27., 30., 31., 32., 45., 46., 47., 50., 51., 52.],
                ..Default::default()
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let got = run_case(&[3, 4, 5], c).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(got[0].shape, c.shape, "case {i}");
            assert_eq!(got[0].as_f32(), c.values, "case {i}");
        }
    }

    #[test]
    fn rejects_zero_strides_and_out_of_range_shrinks() {
        let zero = Case {
            begin: vec![0],
            end: vec![2],
            strides: vec![0],
            ..Default::default()
        };
        assert!(run_case(&[4], &zero).is_err());
        let shrink_past_end = Case {
            begin: vec![7],
            end: vec![8],
            strides: vec![1],
            masks: [0, 0, 0, 0, 1],
            ..Default::default()
        };
        assert!(run_case(&[4, 2], &shrink_past_end).is_err());
        let offset_past_end = Case {
            begin: vec![3],
            end: vec![3],
            strides: vec![1],
            offset: true,
            ..Default::default()
        };
        assert!(run_case(&[4], &offset_past_end).is_err());
    }

    #[test]
    fn slices_strings() {
        let s = T::strs(&[4], &["a", "b", "c", "d"]);
        let opts = BuiltinOptions::StridedSliceOptions(StridedSliceOptions::default());
        let got = run_op(
            build,
            "STRIDED_SLICE",
            opts,
            &[
                Some(s),
                Some(T::i32(&[1], &[3])),
                Some(T::i32(&[1], &[0])),
                Some(T::i32(&[1], &[-2])),
            ],
            &[T::out(DType::String)],
        )
        .unwrap();
        assert_eq!(got[0].as_strs(), vec!["d", "b"]);
    }
}
