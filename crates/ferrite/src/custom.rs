//! Custom operators written in Rust.
//!
//! Implement [`CustomOp`], add it to an [`OpResolver`] and build the
//! interpreter with [`Interpreter::with_resolver`](crate::Interpreter::with_resolver).
//! The resolver feeds the same registry the builtin kernels live in, so the
//! planner finds the op by its custom code and `ferrite check` (given the
//! resolver) counts it as runnable on `ferrite`.
//!
//! ```
//! use ferrite::custom::{CustomOp, EvalContext, OpError, OpResolver, OutputSpec, PrepareContext};
//!
//! /// y = x * factor, with `factor` from the op's flexbuffer options.
//! struct Scale;
//!
//! impl CustomOp for Scale {
//!     fn name(&self) -> &str { "Scale" }
//!     fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
//!         let x = cx.input(0)?;
//!         Ok(vec![OutputSpec::new(x.dtype(), x.shape())])
//!     }
//!     fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
//!         let factor = cx.attr_f32("factor").unwrap_or(1.0);
//!         let x = cx.input(0)?.as_slice::<f32>()?;
//!         for (y, x) in cx.output(0)?.as_slice_mut::<f32>()?.iter_mut().zip(x) {
//!             *y = x * factor;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut resolver = OpResolver::new();
//! resolver.add(Scale);
//! // let interp = ferrite::Interpreter::with_resolver(&model, Default::default(), &resolver)?;
//! assert!(resolver.custom_ops().contains(&"Scale"));
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock};

use ferrite_kernels::api::{
    self, EvalIo, KResult, Kernel, KernelError, OpSpec, QuantParams, ShapeArg,
};
use ferrite_kernels::registry::OpRegistry;

pub use ferrite_format::nodedef::Attr;

use crate::{DType, Element};

/// A custom operator. One value serves every node of its custom code in
/// every interpreter built with the resolver, so it must be `Send + Sync`;
/// per-node configuration comes from the node's options in each call.
pub trait CustomOp: Send + Sync {
    /// The custom code this op runs.
    fn name(&self) -> &str;

    /// The dtype and shape of every output for these inputs. Called when
    /// the model is planned (input values are known for constants only)
    /// and before every eval with the inputs of that call. The dtypes must
    /// be those the model declares for the outputs.
    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError>;

    /// Computes the outputs, which are already sized as `prepare` said.
    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError>;
}

/// Why a custom op cannot prepare or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    unsupported: bool,
    message: String,
}

impl OpError {
    /// The inputs or options are wrong (kind `InvalidInput`).
    pub fn invalid(message: impl Into<String>) -> Self {
        OpError {
            unsupported: false,
            message: message.into(),
        }
    }

    /// The op does not implement this case (kind `Unsupported`).
    pub fn unsupported(message: impl Into<String>) -> Self {
        OpError {
            unsupported: true,
            message: message.into(),
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl From<OpError> for KernelError {
    fn from(e: OpError) -> Self {
        if e.unsupported {
            KernelError::Unsupported(e.message)
        } else {
            KernelError::InvalidInput(e.message)
        }
    }
}

impl From<KernelError> for OpError {
    fn from(e: KernelError) -> Self {
        match e {
            KernelError::Unsupported(m) => OpError::unsupported(m),
            KernelError::InvalidInput(m) => OpError::invalid(m),
        }
    }
}

/// What `prepare` says about one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl OutputSpec {
    pub fn new(dtype: DType, shape: &[usize]) -> Self {
        OutputSpec {
            dtype,
            shape: shape.to_vec(),
        }
    }
}

/// Affine quantization of a tensor: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, Copy)]
pub struct QuantView<'a> {
    pub scale: &'a [f32],
    pub zero_point: &'a [i64],
    pub axis: usize,
}

fn quant_view(q: Option<&QuantParams>) -> Option<QuantView<'_>> {
    q.map(|q| QuantView {
        scale: &q.scale,
        zero_point: &q.zero_point,
        axis: q.axis,
    })
}

fn typed<'a, T: Element>(dtype: DType, data: &'a [u8], what: &str) -> Result<&'a [T], OpError> {
    if dtype != T::DTYPE {
        return Err(OpError::invalid(format!(
            "{what} is {dtype}, not {}",
            T::DTYPE
        )));
    }
    Ok(api::cast(data)?)
}

/// An input as `prepare` sees it.
#[derive(Debug, Clone, Copy)]
pub struct InputInfo<'a> {
    dtype: DType,
    shape: &'a [usize],
    value: Option<&'a [u8]>,
    quant: Option<&'a QuantParams>,
}

impl<'a> InputInfo<'a> {
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    pub fn quantization(&self) -> Option<QuantView<'a>> {
        quant_view(self.quant)
    }

    /// The value, when known: always for constants, and at eval time.
    pub fn value<T: Element>(&self) -> Result<Option<&'a [T]>, OpError> {
        self.value
            .map(|v| typed(self.dtype, v, "the input"))
            .transpose()
    }
}

/// Options of a node: its raw custom option bytes and, when those are a
/// flexbuffer map, the decoded attributes.
struct NodeOptions {
    bytes: Vec<u8>,
    attrs: Vec<(String, Attr)>,
}

impl NodeOptions {
    fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

macro_rules! option_accessors {
    () => {
        /// The node's custom option bytes (empty when it has none).
        pub fn custom_options(&self) -> &[u8] {
            &self.options.bytes
        }

        /// The node's attributes, from a flexbuffer-map options blob.
        pub fn attrs(&self) -> &[(String, Attr)] {
            &self.options.attrs
        }

        pub fn attr(&self, key: &str) -> Option<&Attr> {
            self.options.attr(key)
        }

        /// Attribute `key` as an integer (ints and bools).
        pub fn attr_i64(&self, key: &str) -> Option<i64> {
            match self.options.attr(key)? {
                Attr::Int(v) => Some(*v),
                Attr::Bool(b) => Some(i64::from(*b)),
                _ => None,
            }
        }

        /// Attribute `key` as a float (floats and ints).
        pub fn attr_f32(&self, key: &str) -> Option<f32> {
            match self.options.attr(key)? {
                Attr::Float(v) => Some(*v),
                Attr::Int(v) => Some(*v as f32),
                _ => None,
            }
        }

        /// Attribute `key` as a bool (bools and ints).
        pub fn attr_bool(&self, key: &str) -> Option<bool> {
            match self.options.attr(key)? {
                Attr::Bool(b) => Some(*b),
                Attr::Int(v) => Some(*v != 0),
                _ => None,
            }
        }
    };
}

/// What `prepare` is given.
pub struct PrepareContext<'a> {
    inputs: Vec<Option<InputInfo<'a>>>,
    output_dtypes: &'a [DType],
    options: &'a NodeOptions,
}

impl<'a> PrepareContext<'a> {
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Input `i`, which must be present.
    pub fn input(&self, i: usize) -> Result<InputInfo<'a>, OpError> {
        self.optional_input(i)
            .ok_or_else(|| OpError::invalid(format!("missing input {i}")))
    }

    /// Input `i`, or `None` when the model omits it.
    pub fn optional_input(&self, i: usize) -> Option<InputInfo<'a>> {
        self.inputs.get(i).copied().flatten()
    }

    pub fn num_outputs(&self) -> usize {
        self.output_dtypes.len()
    }

    /// The dtype the model declares for output `i`.
    pub fn output_dtype(&self, i: usize) -> Result<DType, OpError> {
        self.output_dtypes
            .get(i)
            .copied()
            .ok_or_else(|| OpError::invalid(format!("missing output {i}")))
    }

    option_accessors!();
}

/// An input at eval time.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    inner: api::TensorRef<'a>,
}

impl<'a> Tensor<'a> {
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    pub fn shape(&self) -> &'a [usize] {
        self.inner.shape
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.inner.data
    }

    pub fn quantization(&self) -> Option<QuantView<'a>> {
        quant_view(self.inner.quant)
    }

    /// The elements, when `T` is the tensor's dtype.
    pub fn as_slice<T: Element>(&self) -> Result<&'a [T], OpError> {
        typed(self.inner.dtype, self.inner.data, "the input")
    }
}

/// An output at eval time, sized as `prepare` said.
pub struct TensorMut<'a, 'b> {
    inner: &'b mut api::TensorMut<'a>,
}

impl TensorMut<'_, '_> {
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    pub fn shape(&self) -> &[usize] {
        self.inner.shape
    }

    pub fn quantization(&self) -> Option<QuantView<'_>> {
        quant_view(self.inner.quant)
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.inner.bytes_mut()
    }

    /// The elements for writing, when `T` is the tensor's dtype.
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T], OpError> {
        if self.inner.dtype != T::DTYPE {
            return Err(OpError::invalid(format!(
                "the output is {}, not {}",
                self.inner.dtype,
                T::DTYPE
            )));
        }
        Ok(self.inner.typed::<T>()?)
    }
}

/// What `eval` is given.
pub struct EvalContext<'a, 'b> {
    inputs: &'b [Option<api::TensorRef<'a>>],
    outputs: &'b mut [api::TensorMut<'a>],
    options: &'b NodeOptions,
}

impl<'a> EvalContext<'a, '_> {
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Input `i`, which must be present.
    pub fn input(&self, i: usize) -> Result<Tensor<'a>, OpError> {
        self.optional_input(i)
            .ok_or_else(|| OpError::invalid(format!("missing input {i}")))
    }

    /// Input `i`, or `None` when the model omits it.
    pub fn optional_input(&self, i: usize) -> Option<Tensor<'a>> {
        let inner = self.inputs.get(i).copied().flatten()?;
        Some(Tensor { inner })
    }

    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Output `i` for writing.
    pub fn output(&mut self, i: usize) -> Result<TensorMut<'a, '_>, OpError> {
        let inner = self
            .outputs
            .get_mut(i)
            .ok_or_else(|| OpError::invalid(format!("missing output {i}")))?;
        Ok(TensorMut { inner })
    }

    /// Every output at once, for ops that write several together.
    pub fn outputs(&mut self) -> Vec<TensorMut<'a, '_>> {
        self.outputs
            .iter_mut()
            .map(|inner| TensorMut { inner })
            .collect()
    }

    option_accessors!();
}

/// A [`CustomOp`] under the kernel contract: one per node.
struct Adapter {
    op: Arc<dyn CustomOp>,
    options: NodeOptions,
    input_quant: Vec<Option<QuantParams>>,
    output_dtypes: Vec<DType>,
}

impl Kernel for Adapter {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let cx = PrepareContext {
            inputs: inputs
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    a.map(|a| InputInfo {
                        dtype: a.dtype,
                        shape: a.shape,
                        value: a.value,
                        quant: self.input_quant.get(i).and_then(|q| q.as_ref()),
                    })
                })
                .collect(),
            output_dtypes: &self.output_dtypes,
            options: &self.options,
        };
        let specs = self.op.prepare(&cx)?;
        if specs.len() != self.output_dtypes.len() {
            return api::invalid(format!(
                "prepare gave {} outputs, the model has {}",
                specs.len(),
                self.output_dtypes.len()
            ));
        }
        let mut shapes = Vec::with_capacity(specs.len());
        for (i, (spec, &declared)) in specs.into_iter().zip(&self.output_dtypes).enumerate() {
            if spec.dtype != declared {
                return api::invalid(format!(
                    "prepare says output {i} is {}, the model declares {declared}",
                    spec.dtype
                ));
            }
            shapes.push(spec.shape);
        }
        Ok(Some(shapes))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let mut cx = EvalContext {
            inputs: io.inputs,
            outputs: &mut *io.outputs,
            options: &self.options,
        };
        Ok(self.op.eval(&mut cx)?)
    }
}

/// The ops an interpreter resolves: the builtin kernels plus registered
/// custom ops. [`OpResolver::new`] (and `Default`) include the bundled
/// third-party ops (`TFLite_Detection_PostProcess`, MediaPipe's
/// `Convolution2DTransposeBias`, `MaxPoolingWithArgmax2D`, `MaxUnpooling2D`).
#[derive(Clone)]
pub struct OpResolver {
    ops: Vec<Arc<dyn CustomOp>>,
}

impl fmt::Debug for OpResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpResolver")
            .field("custom_ops", &self.custom_ops())
            .finish()
    }
}

impl Default for OpResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl OpResolver {
    /// Builtin kernels and the bundled third-party custom ops.
    pub fn new() -> Self {
        let mut r = Self::builtins_only();
        crate::ops::register_bundled(&mut r);
        r
    }

    /// Builtin kernels only: no custom op beyond ferrite's own TF kernels.
    pub fn builtins_only() -> Self {
        OpResolver { ops: Vec::new() }
    }

    /// Registers `op` under its name, replacing an op of that name.
    pub fn add(&mut self, op: impl CustomOp + 'static) -> &mut Self {
        let name = op.name().to_string();
        self.ops.retain(|o| o.name() != name);
        self.ops.push(Arc::new(op));
        self
    }

    /// Custom codes registered on this resolver, in registration order.
    pub fn custom_ops(&self) -> Vec<&str> {
        self.ops.iter().map(|o| o.name()).collect()
    }

    /// The default resolver, built once and shared.
    pub fn shared() -> &'static OpResolver {
        static DEFAULT: OnceLock<OpResolver> = OnceLock::new();
        DEFAULT.get_or_init(OpResolver::new)
    }

    /// The runtime registry with these ops added.
    pub(crate) fn registry(&self) -> OpRegistry {
        let mut reg = OpRegistry::default();
        for op in &self.ops {
            let op = Arc::clone(op);
            let name = op.name().to_string();
            reg.register(
                name,
                Arc::new(move |spec: &OpSpec<'_>| -> KResult<Box<dyn Kernel>> {
                    Ok(Box::new(Adapter {
                        op: Arc::clone(&op),
                        options: NodeOptions {
                            bytes: spec.custom_options.unwrap_or(&[]).to_vec(),
                            attrs: spec.attrs.to_vec(),
                        },
                        input_quant: spec
                            .inputs
                            .iter()
                            .map(|t| t.and_then(|t| t.quant.cloned()))
                            .collect(),
                        output_dtypes: spec.outputs.iter().map(|t| t.dtype).collect(),
                    }))
                }),
            );
        }
        reg
    }
}
