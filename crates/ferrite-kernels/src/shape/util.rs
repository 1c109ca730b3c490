//! Helpers shared by the shape family: dtype checks for pure data movement,
//! running one generic routine over any element size (and over STRING
//! tensors through element indices), and reading index-valued inputs.

use bytemuck::Pod;

use crate::api::*;
use crate::parallel::Parallel;
use crate::strings;

/// A pure data-movement routine, generic over the element type. STRING
/// tensors run it on `u32` element indices (see [`run`]).
pub trait Movement: Sync {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()>;
}

/// Runs `m` with `data` as its inputs and every output, choosing the element
/// type by size. STRING inputs are decoded, `m` moves their indices, and the
/// outputs are re-encoded from the moved indices.
pub fn run<M: Movement>(
    m: &M,
    data: &[TensorRef<'_>],
    outputs: &mut [TensorMut<'_>],
    par: &Parallel,
) -> KResult<()> {
    let dtype = match (data.first(), outputs.first()) {
        (Some(t), _) => t.dtype,
        (None, Some(o)) => o.dtype,
        (None, None) => return Ok(()),
    };
    if dtype == DType::String {
        return run_strings(m, data, outputs, par);
    }
    match dtype.element_size() {
        Some(1) => run_typed::<u8, M>(m, data, outputs, par),
        Some(2) => run_typed::<u16, M>(m, data, outputs, par),
        Some(4) => run_typed::<u32, M>(m, data, outputs, par),
        Some(8) => run_typed::<u64, M>(m, data, outputs, par),
        Some(16) => run_typed::<[u64; 2], M>(m, data, outputs, par),
        _ => unsupported(format!("data movement on {dtype}")),
    }
}

fn run_typed<T: Pod + Send + Sync, M: Movement>(
    m: &M,
    data: &[TensorRef<'_>],
    outputs: &mut [TensorMut<'_>],
    par: &Parallel,
) -> KResult<()> {
    let ins: Vec<&[T]> = data
        .iter()
        .map(|t| t.typed::<T>())
        .collect::<KResult<_>>()?;
    let mut outs: Vec<&mut [T]> = outputs
        .iter_mut()
        .map(|o| cast_mut::<T>(o.buf.bytes_mut()))
        .collect::<KResult<_>>()?;
    m.apply(&ins, &mut outs, par)
}

fn run_strings<M: Movement>(
    m: &M,
    data: &[TensorRef<'_>],
    outputs: &mut [TensorMut<'_>],
    par: &Parallel,
) -> KResult<()> {
    let mut all: Vec<&[u8]> = Vec::new();
    let mut iotas: Vec<Vec<u32>> = Vec::with_capacity(data.len());
    for t in data {
        let s = strings::decode(t.data)?;
        if s.len() != t.num_elements() {
            return invalid(format!(
                "string tensor of shape {:?} holds {} strings",
                t.shape,
                s.len()
            ));
        }
        let base = all.len();
        if base + s.len() > u32::MAX as usize {
            return unsupported("more than 2^32 strings");
        }
        iotas.push((base..base + s.len()).map(|i| i as u32).collect());
        all.extend(s);
    }
    let mut moved: Vec<Vec<u32>> = outputs
        .iter()
        .map(|o| vec![0u32; o.num_elements()])
        .collect();
    {
        let ins: Vec<&[u32]> = iotas.iter().map(|v| v.as_slice()).collect();
        let mut outs: Vec<&mut [u32]> = moved.iter_mut().map(|v| v.as_mut_slice()).collect();
        m.apply(&ins, &mut outs, par)?;
    }
    for (o, idx) in outputs.iter_mut().zip(&moved) {
        let picked: Vec<&[u8]> = idx
            .iter()
            .map(|&i| all.get(i as usize).copied())
            .collect::<Option<_>>()
            .ok_or_else(|| KernelError::InvalidInput("moved a string index out of range".into()))?;
        o.buf.set(&strings::encode(&picked));
    }
    Ok(())
}

/// Copies a tensor unchanged (RESHAPE, SQUEEZE, EXPAND_DIMS, DENSIFY).
/// STRING buffers are self-describing, so their bytes carry over as-is.
pub fn copy_through(x: &TensorRef<'_>, out: &mut TensorMut<'_>) -> KResult<()> {
    if out.dtype == DType::String {
        out.buf.set(x.data);
        return Ok(());
    }
    let o = out.bytes_mut();
    if o.len() != x.data.len() {
        return invalid(format!(
            "output holds {} bytes, input {}",
            o.len(),
            x.data.len()
        ));
    }
    o.copy_from_slice(x.data);
    Ok(())
}

/// Whether `dtype` carries affine-quantized values in this family's sense.
pub fn is_quantized_type(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::Int8 | DType::Uint8 | DType::Int16 | DType::Int4
    )
}

/// Checks that `t` can be moved element by element: any fixed-size dtype,
/// and STRING when `strings` is set.
pub fn check_movable(spec: &OpSpec<'_>, t: &TensorSpec<'_>, strings: bool) -> KResult<()> {
    match t.dtype {
        DType::String if strings => Ok(()),
        DType::Int4 => spec.unsupported("INT4 tensors"),
        d if d.element_size().is_some() && d != DType::Resource => Ok(()),
        d => spec.unsupported(format!("dtype {d}")),
    }
}

/// Data movement keeps quantized values as they are, which is only right
/// when input and output share their quantization.
pub fn check_same_quant(
    spec: &OpSpec<'_>,
    input: &TensorSpec<'_>,
    output: &TensorSpec<'_>,
) -> KResult<()> {
    if input.dtype != output.dtype {
        return spec.unsupported(format!(
            "input {} and output {} dtypes differ",
            input.dtype, output.dtype
        ));
    }
    if is_quantized_type(input.dtype) && input.quant != output.quant {
        return spec.unsupported("input and output quantization differ (requantization)");
    }
    Ok(())
}

/// The usual checks for a data-movement op: input `data` and output 0 are
/// movable, of one dtype and of one quantization.
pub fn check_data_op(spec: &OpSpec<'_>, data: usize, strings: bool) -> KResult<()> {
    let x = spec.input(data)?;
    check_movable(spec, x, strings)?;
    for o in spec.outputs {
        check_same_quant(spec, x, o)?;
    }
    Ok(())
}

/// Checks that an index-valued input is an integer tensor of `allowed` dtypes.
pub fn check_index_dtype(spec: &OpSpec<'_>, i: usize, allowed: &[DType]) -> KResult<()> {
    let t = spec.input(i)?;
    if !allowed.contains(&t.dtype) {
        return spec.unsupported(format!("input {i} of dtype {}", t.dtype));
    }
    Ok(())
}

/// The shape-inference view of every input, for reusing `output_shapes`
/// logic at eval time.
pub fn shape_args<'a>(io: &EvalIo<'a, '_>) -> Vec<Option<ShapeArg<'a>>> {
    io.inputs
        .iter()
        .map(|t| t.map(|t| t.as_shape_arg()))
        .collect()
}

/// The integer values of input `i`, or `Ok(None)` when not known yet.
pub fn values(inputs: &[Option<ShapeArg<'_>>], i: usize) -> KResult<Option<Vec<i64>>> {
    let a = shape_input(inputs, i)?;
    a.value.map(|v| ints(a.dtype, v)).transpose()
}

/// Decodes an integer tensor as i64s, whatever the buffer's alignment.
pub fn ints(dtype: DType, data: &[u8]) -> KResult<Vec<i64>> {
    fn le<const N: usize>(data: &[u8], f: fn([u8; N]) -> i64) -> KResult<Vec<i64>> {
        if !data.len().is_multiple_of(N) {
            return invalid(format!("index tensor of {} bytes is ragged", data.len()));
        }
        Ok(data
            .chunks_exact(N)
            .map(|c| f(c.try_into().unwrap_or([0; N])))
            .collect())
    }
    match dtype {
        DType::Int64 => le::<8>(data, i64::from_le_bytes),
        DType::Int32 => le::<4>(data, |b| i32::from_le_bytes(b) as i64),
        DType::Int16 => le::<2>(data, |b| i16::from_le_bytes(b) as i64),
        DType::Int8 => le::<1>(data, |b| b[0] as i8 as i64),
        DType::Uint8 => le::<1>(data, |b| b[0] as i64),
        d => invalid(format!("expected an integer tensor, got {d}")),
    }
}

/// Converts a non-negative i64 to usize.
pub fn to_usize(v: i64, what: &str) -> KResult<usize> {
    usize::try_from(v).map_err(|_| KernelError::InvalidInput(format!("{what} {v} is negative")))
}

/// The element count of `shape`, failing on overflow.
pub fn elements(shape: &[usize]) -> KResult<usize> {
    crate::common::checked_elements(shape)
}

/// One output, as a convenience for single-output shape functions.
pub fn one(shape: Vec<usize>) -> KResult<Option<Vec<Vec<usize>>>> {
    Ok(Some(vec![shape]))
}
