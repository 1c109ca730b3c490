//! Ferrite: a pure-Rust runtime for TensorFlow Lite (LiteRT) models.
//!
//! ```no_run
//! let model = ferrite::Model::load("model.tflite")?;
//! let mut interp = ferrite::Interpreter::new(&model, ferrite::Options::default())?;
//! interp.set_input(0, &[0.5f32; 4])?;
//! interp.invoke()?;
//! let y: &[f32] = interp.output_as(0)?;
//! # Ok::<(), ferrite::Error>(())
//! ```

#[cfg(feature = "ndarray")]
mod arrays;
pub mod custom;
mod error;
mod ops;
mod signature;

use std::path::Path;
use std::sync::Arc;

pub use custom::OpResolver;
pub use error::{Error, ErrorKind, Location, Result};
pub use ferrite_format::{Limits, TensorType as DType};
use ferrite_graph::Graph;
pub use ferrite_runtime::{OpProfile, Options, TensorView};
pub use signature::SignatureRunner;

/// A loaded, verified model. Cheap to share between interpreters.
#[derive(Clone)]
pub struct Model {
    graph: Arc<Graph>,
}

impl Model {
    /// Memory-maps and verifies a `.tflite` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with_limits(path, &Limits::default())
    }

    pub fn load_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<Self> {
        Self::from_model_bytes(ferrite_format::ModelBytes::map(path)?, limits)
    }

    /// Verifies a model held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::from_model_bytes(bytes.into(), &Limits::default())
    }

    fn from_model_bytes(bytes: ferrite_format::ModelBytes, limits: &Limits) -> Result<Self> {
        let bytes = Arc::new(bytes);
        let model = ferrite_format::Model::parse_with_limits(&bytes, limits)?;
        let graph = Graph::build(&model, Arc::clone(&bytes))?;
        Ok(Model {
            graph: Arc::new(graph),
        })
    }

    /// The typed graph, for tools.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The shape of every tensor of subgraph `subgraph` when its inputs have
    /// `input_shapes`, as the planner infers them without running the model;
    /// `None` where a shape depends on data.
    pub fn infer_shapes(
        &self,
        subgraph: usize,
        input_shapes: &[Vec<usize>],
    ) -> Result<Vec<Option<Vec<usize>>>> {
        Ok(ferrite_runtime::infer_shapes_with(
            &self.graph,
            subgraph,
            input_shapes,
            &OpResolver::shared().registry(),
        )?)
    }

    /// Whether invokes can change what later invokes compute: variable
    /// tensors (RNN/LSTM state) or resource-variable assignments. Hash
    /// tables do not count: they are imported once and then only read.
    pub fn keeps_state(&self) -> bool {
        self.graph.subgraphs.iter().any(|sg| {
            sg.tensors.iter().any(|t| t.is_variable)
                || sg
                    .nodes
                    .iter()
                    .any(|n| n.kind.display_name() == "ASSIGN_VARIABLE")
        })
    }

    /// Signature keys in model order.
    pub fn signature_keys(&self) -> Vec<&str> {
        self.graph
            .signatures
            .iter()
            .map(|s| s.key.as_str())
            .collect()
    }
}

/// Affine quantization parameters of a tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: usize,
}

/// Static facts about an input or output tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    /// The current shape (after any resize).
    pub shape: Vec<usize>,
    /// -1 marks dimensions that may be resized.
    pub shape_signature: Vec<i64>,
    pub quantization: Option<Quantization>,
}

/// Element types that can be passed as typed slices.
pub trait Element: bytemuck::Pod {
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(impl Element for $t { const DTYPE: DType = DType::$d; })*};
}
element!(f32 => Float32, f64 => Float64, i8 => Int8, u8 => Uint8, i16 => Int16, u16 => Uint16,
    i32 => Int32, u32 => Uint32, i64 => Int64, u64 => Uint64);

/// Runs one model; holds its own buffers, threads and state.
pub struct Interpreter {
    inner: ferrite_runtime::Interpreter,
}

pub(crate) fn check_dtype(info: &TensorInfo, want: DType) -> Result<()> {
    if info.dtype != want {
        return Err(Error::invalid(format!(
            "tensor '{}' is {}, not {want}",
            info.name, info.dtype
        )));
    }
    Ok(())
}

impl Interpreter {
    /// Plans the model: unsupported ops are reported here, before any input.
    /// A model with resizable inputs whose default shapes cannot be planned
    /// is planned at its first invoke, after `resize_input`.
    /// Ops resolve through the default [`OpResolver`]: the builtin kernels
    /// and the bundled third-party custom ops.
    pub fn new(model: &Model, options: Options) -> Result<Self> {
        Self::with_resolver(model, options, OpResolver::shared())
    }

    /// As [`Interpreter::new`], with the custom ops registered on `resolver`.
    pub fn with_resolver(model: &Model, options: Options, resolver: &OpResolver) -> Result<Self> {
        Ok(Interpreter {
            inner: ferrite_runtime::Interpreter::with_ops(
                Arc::clone(&model.graph),
                options,
                resolver.registry(),
            )?,
        })
    }

    pub(crate) fn tensor_info(&self, s: usize, t: usize) -> TensorInfo {
        let info = &self.inner.graph().subgraphs[s].tensors[t];
        TensorInfo {
            name: info.name.clone(),
            dtype: info.dtype,
            shape: self.inner.tensor_shape(s, t).to_vec(),
            shape_signature: info.signature.clone(),
            quantization: info.quantization.as_ref().and_then(|q| {
                let scale = q.scale.clone().filter(|s| !s.is_empty())?;
                Some(Quantization {
                    zero_point: q.zero_point.clone().unwrap_or_else(|| vec![0; scale.len()]),
                    scale,
                    quantized_dimension: q.quantized_dimension.max(0) as usize,
                })
            }),
        }
    }

    fn primary(&self) -> &ferrite_graph::Subgraph {
        &self.inner.graph().subgraphs[0]
    }

    pub fn inputs(&self) -> Vec<TensorInfo> {
        self.primary()
            .inputs
            .iter()
            .map(|&t| self.tensor_info(0, t))
            .collect()
    }

    pub fn outputs(&self) -> Vec<TensorInfo> {
        self.primary()
            .outputs
            .iter()
            .map(|&t| self.tensor_info(0, t))
            .collect()
    }

    /// Position of the primary input called `name`.
    pub fn input_index(&self, name: &str) -> Option<usize> {
        let sg = self.primary();
        sg.inputs.iter().position(|&t| sg.tensors[t].name == name)
    }

    pub fn output_index(&self, name: &str) -> Option<usize> {
        let sg = self.primary();
        sg.outputs.iter().position(|&t| sg.tensors[t].name == name)
    }

    fn input_tensor(&self, i: usize) -> Result<usize> {
        self.primary().inputs.get(i).copied().ok_or_else(|| {
            Error::invalid(format!(
                "input {i} does not exist (the model has {})",
                self.primary().inputs.len()
            ))
        })
    }

    fn output_tensor(&self, i: usize) -> Result<usize> {
        self.primary().outputs.get(i).copied().ok_or_else(|| {
            Error::invalid(format!(
                "output {i} does not exist (the model has {})",
                self.primary().outputs.len()
            ))
        })
    }

    /// Changes the shape of input `i`; the model is replanned at the next invoke.
    pub fn resize_input(&mut self, i: usize, shape: &[usize]) -> Result<()> {
        let t = self.input_tensor(i)?;
        Ok(self.inner.resize_tensor(0, t, shape)?)
    }

    /// Sets input `i` from a typed slice matching its dtype and shape.
    pub fn set_input<T: Element>(&mut self, i: usize, data: &[T]) -> Result<()> {
        let t = self.input_tensor(i)?;
        check_dtype(&self.tensor_info(0, t), T::DTYPE)?;
        Ok(self
            .inner
            .set_tensor_data(0, t, bytemuck::cast_slice(data))?)
    }

    /// Sets input `i` from raw little-endian bytes (STRING inputs take the
    /// TFLite string buffer layout).
    pub fn set_input_bytes(&mut self, i: usize, data: &[u8]) -> Result<()> {
        let t = self.input_tensor(i)?;
        Ok(self.inner.set_tensor_data(0, t, data)?)
    }

    /// Sets a STRING input from its elements in row-major order.
    pub fn set_input_strings<S: AsRef<[u8]>>(&mut self, i: usize, strings: &[S]) -> Result<()> {
        let t = self.input_tensor(i)?;
        check_dtype(&self.tensor_info(0, t), DType::String)?;
        Ok(self
            .inner
            .set_tensor_data(0, t, &ferrite_kernels::strings::encode(strings))?)
    }

    /// Runs the primary subgraph.
    pub fn invoke(&mut self) -> Result<()> {
        Ok(self.inner.invoke()?)
    }

    /// Output `i` as it stands after the last invoke, without copying.
    pub fn output(&self, i: usize) -> Result<TensorView<'_>> {
        let t = self.output_tensor(i)?;
        Ok(self.inner.tensor(0, t)?)
    }

    /// Input `i` as last set (empty bytes before any set), without copying.
    pub fn input(&self, i: usize) -> Result<TensorView<'_>> {
        let t = self.input_tensor(i)?;
        Ok(self.inner.tensor(0, t)?)
    }

    /// The buffer of input `i` for writing in place, sized to its current
    /// shape; it stays put until a resize or a replan.
    pub fn input_buffer_mut(&mut self, i: usize) -> Result<&mut [u8]> {
        let t = self.input_tensor(i)?;
        Ok(self.inner.tensor_data_mut(0, t)?)
    }

    /// The buffer of output `i`, as `input_buffer_mut`.
    pub fn output_buffer_mut(&mut self, i: usize) -> Result<&mut [u8]> {
        let t = self.output_tensor(i)?;
        Ok(self.inner.tensor_data_mut(0, t)?)
    }

    /// Output `i` as a typed slice.
    pub fn output_as<T: Element>(&self, i: usize) -> Result<&[T]> {
        let view = self.output(i)?;
        typed(view)
    }

    /// A runner for the signature `key`.
    pub fn signature(&mut self, key: &str) -> Result<SignatureRunner<'_>> {
        SignatureRunner::new(self, key)
    }

    /// Per-op time, slowest first, when `Options::profile` is set.
    pub fn profile(&self) -> Vec<OpProfile> {
        self.inner.profile()
    }

    /// Starts the per-op profile afresh.
    pub fn clear_profile(&mut self) {
        self.inner.clear_profile()
    }

    /// Forgets variables, hash tables and CALL_ONCE history.
    pub fn reset_state(&mut self) {
        self.inner.reset_state()
    }

    /// Restores only the variable tensors (LSTM-style kernel state);
    /// resource variables and hash tables keep their values.
    pub fn reset_variable_tensors(&mut self) {
        self.inner.reset_variable_tensors()
    }

    /// Bytes of tensor memory the interpreter holds (arena, inputs, outputs,
    /// folded constants), not counting the mapped model.
    pub fn resident_bytes(&self) -> usize {
        self.inner.resident_bytes()
    }

    pub(crate) fn runtime(&mut self) -> &mut ferrite_runtime::Interpreter {
        &mut self.inner
    }

    pub(crate) fn runtime_ref(&self) -> &ferrite_runtime::Interpreter {
        &self.inner
    }
}

pub(crate) fn typed<'a, T: Element>(view: TensorView<'a>) -> Result<&'a [T]> {
    if view.dtype != T::DTYPE {
        return Err(Error::invalid(format!(
            "tensor '{}' is {}, not {}",
            view.name,
            view.dtype,
            T::DTYPE
        )));
    }
    bytemuck::try_cast_slice(view.data)
        .map_err(|e| Error::invalid(format!("tensor '{}': {e:?}", view.name)))
}

/// Decodes a STRING tensor's elements.
pub fn strings_of<'a>(view: &TensorView<'a>) -> Result<Vec<&'a [u8]>> {
    ferrite_kernels::strings::decode(view.data).map_err(|e| Error::invalid(e.to_string()))
}
