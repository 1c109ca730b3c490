//! The contract between the runtime and operator kernels.
//!
//! The runtime builds one [`Kernel`] per operator from an [`OpSpec`]. A
//! builder may read dtypes, quantization, options and the *data* of constant
//! inputs (to pack weights), but never the shapes of non-constant tensors:
//! those can change on resize or inside WHILE loops, and the runtime does not
//! rebuild kernels for that. Shapes reach the kernel through
//! [`Kernel::output_shapes`] and [`Kernel::eval`] on every call.

use bytemuck::Pod;
pub use ferrite_format::nodedef::Attr;
pub use ferrite_format::{BuiltinOptions, BuiltinOptions2, TensorType as DType};

use crate::parallel::Parallel;

/// What can go wrong in a kernel; the runtime adds subgraph/op/tensor context.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The op is known but this dtype, option or version is not implemented.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Inputs are inconsistent (shapes, index values out of range, ...).
    #[error("{0}")]
    InvalidInput(String),
}

pub type KResult<T> = Result<T, KernelError>;

/// Shorthand for an [`KernelError::InvalidInput`] error.
pub fn invalid<T>(msg: impl Into<String>) -> KResult<T> {
    Err(KernelError::InvalidInput(msg.into()))
}

/// Shorthand for an [`KernelError::Unsupported`] error.
pub fn unsupported<T>(msg: impl Into<String>) -> KResult<T> {
    Err(KernelError::Unsupported(msg.into()))
}

/// Affine quantization: `real = scale * (q - zero_point)`, per tensor
/// (one entry) or per slice along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantParams {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub axis: usize,
}

/// A tensor as the builder sees it.
#[derive(Debug, Clone, Copy)]
pub struct TensorSpec<'a> {
    pub name: &'a str,
    pub dtype: DType,
    /// The declared shape. Only meaningful to builders for constant tensors.
    pub shape: &'a [usize],
    pub quant: Option<&'a QuantParams>,
    /// The data of constant tensors.
    pub data: Option<&'a [u8]>,
}

/// Everything a builder knows about one operator.
pub struct OpSpec<'a> {
    pub code: i32,
    pub name: &'a str,
    pub version: i32,
    pub options: &'a BuiltinOptions,
    pub options2: &'a BuiltinOptions2,
    pub custom_options: Option<&'a [u8]>,
    /// Named attributes of a TensorFlow or custom op: a Flex op's NodeDef
    /// attrs, or a custom op's flexbuffer map. Empty for builtins.
    pub attrs: &'a [(String, Attr)],
    /// `None` marks an omitted optional input.
    pub inputs: &'a [Option<TensorSpec<'a>>],
    pub outputs: &'a [TensorSpec<'a>],
}

impl<'a> OpSpec<'a> {
    /// Input `i`, which must be present.
    pub fn input(&self, i: usize) -> KResult<&TensorSpec<'a>> {
        match self.inputs.get(i) {
            Some(Some(t)) => Ok(t),
            _ => invalid(format!("{} needs input {i}", self.name)),
        }
    }

    pub fn output(&self, i: usize) -> KResult<&TensorSpec<'a>> {
        self.outputs
            .get(i)
            .ok_or_else(|| KernelError::InvalidInput(format!("{} needs output {i}", self.name)))
    }

    /// Checks the input and output counts (inclusive ranges).
    pub fn expect_arity(
        &self,
        inputs: std::ops::RangeInclusive<usize>,
        outputs: usize,
    ) -> KResult<()> {
        if !inputs.contains(&self.inputs.len()) || self.outputs.len() != outputs {
            return invalid(format!(
                "{} expects {:?} inputs and {outputs} outputs, has {} and {}",
                self.name,
                inputs,
                self.inputs.len(),
                self.outputs.len()
            ));
        }
        Ok(())
    }

    /// The attribute `key` (see [`OpSpec::attrs`]).
    pub fn attr(&self, key: &str) -> Option<&'a Attr> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// An `Unsupported` error naming this op, its version and `detail`.
    pub fn unsupported<T>(&self, detail: impl std::fmt::Display) -> KResult<T> {
        unsupported(format!("{} v{}: {detail}", self.name, self.version))
    }
}

/// A tensor as shape inference sees it: the value is known for constants
/// (and always at eval time), not for activations during planning.
#[derive(Debug, Clone, Copy)]
pub struct ShapeArg<'a> {
    pub dtype: DType,
    pub shape: &'a [usize],
    pub value: Option<&'a [u8]>,
}

impl ShapeArg<'_> {
    /// The value of an int32/int64 tensor as i64s; `Ok(None)` when unknown.
    pub fn int_values(&self) -> KResult<Option<Vec<i64>>> {
        let Some(v) = self.value else { return Ok(None) };
        int_values(self.dtype, v).map(Some)
    }
}

/// Decodes int32/int64 (and int16/int8/uint8) tensor data as i64s.
pub fn int_values(dtype: DType, data: &[u8]) -> KResult<Vec<i64>> {
    Ok(match dtype {
        DType::Int32 => cast::<i32>(data)?.iter().map(|&x| x as i64).collect(),
        DType::Int64 => cast::<i64>(data)?.to_vec(),
        DType::Int16 => cast::<i16>(data)?.iter().map(|&x| x as i64).collect(),
        DType::Int8 => cast::<i8>(data)?.iter().map(|&x| x as i64).collect(),
        DType::Uint8 => data.iter().map(|&x| x as i64).collect(),
        other => return invalid(format!("expected an integer tensor, got {other}")),
    })
}

/// Reinterprets bytes as a slice of `T`; fails on misaligned or ragged data.
pub fn cast<T: Pod>(data: &[u8]) -> KResult<&[T]> {
    // An empty slice may sit at any address (an empty Vec's is dangling).
    if data.is_empty() {
        return Ok(&[]);
    }
    bytemuck::try_cast_slice(data).map_err(|e| {
        KernelError::InvalidInput(format!(
            "tensor data cannot be viewed as {}: {e:?}",
            std::any::type_name::<T>()
        ))
    })
}

pub fn cast_mut<T: Pod>(data: &mut [u8]) -> KResult<&mut [T]> {
    bytemuck::try_cast_slice_mut(data).map_err(|e| {
        KernelError::InvalidInput(format!(
            "tensor data cannot be viewed as {}: {e:?}",
            std::any::type_name::<T>()
        ))
    })
}

/// An input at eval time.
#[derive(Debug, Clone, Copy)]
pub struct TensorRef<'a> {
    pub dtype: DType,
    pub shape: &'a [usize],
    pub data: &'a [u8],
    pub quant: Option<&'a QuantParams>,
}

impl<'a> TensorRef<'a> {
    pub fn typed<T: Pod>(&self) -> KResult<&'a [T]> {
        cast(self.data)
    }

    pub fn f32(&self) -> KResult<&'a [f32]> {
        self.expect(DType::Float32)?;
        cast(self.data)
    }

    pub fn expect(&self, dtype: DType) -> KResult<()> {
        if self.dtype != dtype {
            return invalid(format!("expected a {dtype} tensor, got {}", self.dtype));
        }
        Ok(())
    }

    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn as_shape_arg(&self) -> ShapeArg<'a> {
        ShapeArg {
            dtype: self.dtype,
            shape: self.shape,
            value: Some(self.data),
        }
    }
}

/// Growable 8-byte-aligned storage, used for every non-constant tensor.
#[derive(Default, Debug, Clone)]
pub struct AlignedBuf {
    blocks: Vec<Block>,
    len: usize,
}

/// 64 bytes, 8-byte aligned: every element type's alignment is satisfied
/// without unsafe code, and SIMD kernels use unaligned loads.
type Block = [u64; 8];

impl AlignedBuf {
    /// Sets the length to `len` bytes, growing the allocation if needed. New
    /// bytes are zero; kept bytes keep their values.
    pub fn resize(&mut self, len: usize) {
        let blocks = len.div_ceil(64);
        if blocks > self.blocks.len() {
            self.blocks.resize(blocks, [0; 8]);
        }
        self.len = len;
    }

    pub fn capacity(&self) -> usize {
        self.blocks.len() * 64
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.blocks)[..self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..self.len]
    }

    /// Replaces the contents with `data`.
    pub fn set(&mut self, data: &[u8]) {
        self.resize(data.len());
        self.bytes_mut().copy_from_slice(data);
    }

    /// Frees memory beyond the current length.
    pub fn shrink(&mut self) {
        self.blocks.truncate(self.len.div_ceil(64));
        self.blocks.shrink_to_fit();
    }
}

/// An output at eval time. The runtime sizes `buf` for `shape` before eval,
/// except for STRING outputs whose kernel sets the bytes itself.
pub struct TensorMut<'a> {
    pub dtype: DType,
    pub shape: &'a [usize],
    pub buf: &'a mut AlignedBuf,
    pub quant: Option<&'a QuantParams>,
}

impl TensorMut<'_> {
    pub fn typed<T: Pod>(&mut self) -> KResult<&mut [T]> {
        cast_mut(self.buf.bytes_mut())
    }

    pub fn f32(&mut self) -> KResult<&mut [f32]> {
        if self.dtype != DType::Float32 {
            return invalid(format!("expected a FLOAT32 output, got {}", self.dtype));
        }
        cast_mut(self.buf.bytes_mut())
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf.bytes_mut()
    }

    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Inputs, outputs and the thread pool for one kernel call.
pub struct EvalIo<'a, 'b> {
    pub inputs: &'b [Option<TensorRef<'a>>],
    pub outputs: &'b mut [TensorMut<'a>],
    pub par: &'b Parallel,
}

impl<'a> EvalIo<'a, '_> {
    pub fn input(&self, i: usize) -> KResult<TensorRef<'a>> {
        match self.inputs.get(i) {
            Some(Some(t)) => Ok(*t),
            _ => invalid(format!("missing input {i}")),
        }
    }

    /// Input `i` when present (optional inputs may be omitted).
    pub fn optional_input(&self, i: usize) -> Option<TensorRef<'a>> {
        self.inputs.get(i).copied().flatten()
    }
}

/// A prepared operator.
pub trait Kernel: Send + Sync {
    /// Output shapes for these inputs; `Ok(None)` when they depend on an
    /// input value that is not known yet (only during planning).
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>>;

    /// Computes the outputs. `io.outputs` are already sized per `output_shapes`.
    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()>;

    /// Inputs this op updates (recurrent state, as LiteRT's LSTM does with
    /// its variable tensors). `eval` then receives one extra output per
    /// entry, after the real outputs and shaped like that input, and the
    /// runtime stores it back into the input when the input is a variable.
    fn state_inputs(&self) -> &[usize] {
        &[]
    }
}

/// Builds a kernel for one operator, or says why it cannot.
pub type Builder = fn(&OpSpec<'_>) -> KResult<Box<dyn Kernel>>;

/// Input `i` of a shape-inference call, which must be present.
pub fn shape_input<'s, 'a>(
    inputs: &'s [Option<ShapeArg<'a>>],
    i: usize,
) -> KResult<&'s ShapeArg<'a>> {
    match inputs.get(i) {
        Some(Some(a)) => Ok(a),
        _ => invalid(format!("missing input {i}")),
    }
}
