//! Planning one subgraph: choose kernels, infer shapes, fold constants and
//! lay out intermediate tensors in shared buffers by lifetime.

use ferrite_format::TensorType;
use ferrite_graph::{Graph, OpKind, TensorInfo};
use ferrite_kernels::registry::{Lookup, NamedBuilder, OpRegistry};
use ferrite_kernels::{
    AlignedBuf, EvalIo, Kernel, OpSpec, Parallel, QuantParams, ShapeArg, TensorMut, TensorRef,
    TensorSpec,
};

use crate::arena;
use crate::control::{self, Control};
use crate::error::{ErrorKind, Location, Result, RuntimeError};

/// Where a tensor's bytes live.
#[derive(Default)]
pub(crate) enum Storage {
    /// Not written yet in this invoke.
    #[default]
    Empty,
    /// A constant of the graph.
    Const,
    /// Computed once while planning (constant folding).
    Folded(AlignedBuf),
    /// An arena buffer shared with tensors whose lifetimes do not overlap.
    Slot(usize),
    /// A buffer of its own: inputs, outputs and persistent tensors.
    Own(AlignedBuf),
}

pub(crate) struct TensorState {
    pub dtype: TensorType,
    pub shape: Vec<usize>,
    pub quant: Option<QuantParams>,
    pub storage: Storage,
    /// Whether the shape is known independent of data (for folding SHAPE).
    pub static_shape: bool,
}

pub(crate) enum Action {
    /// Folded at plan time; nothing to do.
    Skip,
    Kernel(Box<dyn Kernel>),
    Control(Control),
}

pub(crate) struct Step {
    pub node: usize,
    pub action: Action,
    /// The tensors a kernel reads and writes: the node's own unless a
    /// fusion (`fuse.rs`) replaced them.
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
}

/// A planned subgraph: its tensors, steps and arena.
#[derive(Default)]
pub(crate) struct SubgraphPlan {
    pub index: usize,
    /// No tensor may need more bytes than this (`Options::max_tensor_bytes`).
    pub max_tensor_bytes: usize,
    pub tensors: Vec<TensorState>,
    pub steps: Vec<Step>,
    pub slots: Vec<AlignedBuf>,
    /// The first op whose output shapes could not be inferred at the planned
    /// input shapes; planning went on past it (see [`plan_lenient`]).
    pub shape_error: Option<RuntimeError>,
}

pub(crate) fn quant_params(t: &TensorInfo) -> Option<QuantParams> {
    let q = t.quantization.as_ref()?;
    let scale = q.scale.clone().filter(|s| !s.is_empty())?;
    let zero_point = q
        .zero_point
        .clone()
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| vec![0; scale.len()]);
    Some(QuantParams {
        scale,
        zero_point,
        axis: q.quantized_dimension.max(0) as usize,
    })
}

/// The byte size of a tensor of `dtype` and `shape`, refused when it
/// overflows or exceeds `max`: shapes come from untrusted models and inputs,
/// and an allocation that size would abort the process.
pub(crate) fn checked_size(dtype: TensorType, shape: &[usize], max: usize) -> Result<usize> {
    // STRING and VARIANT data size themselves when written; their element
    // count must still be sane.
    let sized = matches!(dtype, TensorType::String | TensorType::Variant);
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match byte_size(dtype, shape) {
        None if sized && count.is_some_and(|c| c <= max) => Ok(0),
        Some(n) if n <= max => Ok(n),
        _ => Err(RuntimeError::new(
            ErrorKind::LimitExceeded,
            format!("a {dtype} tensor of shape {shape:?} would exceed the {max}-byte tensor limit"),
        )),
    }
}

/// Byte size of a tensor of `dtype` and `shape`; STRING and RESOURCE
/// tensors size themselves when written.
pub(crate) fn byte_size(dtype: TensorType, shape: &[usize]) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    match dtype {
        TensorType::Int4 => Some(n.div_ceil(2)),
        TensorType::Resource => Some(4 * n),
        t => t.element_size().map(|s| s.saturating_mul(n)),
    }
}

/// A variable tensor's value at start and after a reset: its buffer in
/// the file when it has one, zeros otherwise.
fn variable_initial_value(graph: &Graph, s: usize, t: usize) -> AlignedBuf {
    let info = &graph.subgraphs[s].tensors[t];
    let mut b = AlignedBuf::default();
    match graph.tensor_data(s, t) {
        Some(data) => b.set(data),
        None => b.resize(byte_size(info.dtype, &info.shape).unwrap_or(0)),
    }
    b
}

impl SubgraphPlan {
    /// Puts every variable tensor back to its initial value.
    pub fn reset_variables(&mut self, graph: &Graph) {
        for (t, info) in graph.subgraphs[self.index].tensors.iter().enumerate() {
            if info.is_variable {
                self.tensors[t].shape = info.shape.clone();
                self.tensors[t].storage =
                    Storage::Own(variable_initial_value(graph, self.index, t));
            }
        }
    }

    /// The current bytes of tensor `t`.
    pub fn data<'a>(&'a self, graph: &'a Graph, t: usize) -> Option<&'a [u8]> {
        match &self.tensors[t].storage {
            Storage::Empty => None,
            Storage::Const => graph.tensor_data(self.index, t),
            Storage::Folded(b) | Storage::Own(b) => Some(b.bytes()),
            Storage::Slot(i) => Some(self.slots[*i].bytes()),
        }
    }

    /// Takes the buffer that tensor `t` is written into.
    pub fn take_buf(&mut self, t: usize) -> AlignedBuf {
        match &mut self.tensors[t].storage {
            Storage::Slot(i) => std::mem::take(&mut self.slots[*i]),
            Storage::Own(b) => std::mem::take(b),
            _ => AlignedBuf::default(),
        }
    }

    /// Returns a buffer taken with `take_buf`, now holding `t`'s data.
    pub fn put_buf(&mut self, t: usize, buf: AlignedBuf) {
        match &mut self.tensors[t].storage {
            Storage::Slot(i) => self.slots[*i] = buf,
            s => *s = Storage::Own(buf),
        }
    }

    /// Copies `data` into tensor `t` with `shape` (a subgraph input or a
    /// control-flow output).
    pub fn write(&mut self, t: usize, shape: &[usize], data: &[u8]) {
        let mut buf = self.take_buf(t);
        buf.set(data);
        self.tensors[t].shape = shape.to_vec();
        self.put_buf(t, buf);
    }
}

/// Location of node `n` of subgraph `s`.
pub(crate) fn op_location(graph: &Graph, s: usize, n: usize) -> Location {
    Location {
        subgraph: Some(s),
        op_index: Some(n),
        op: Some(graph.subgraphs[s].nodes[n].kind.display_name()),
        tensor: None,
    }
}

/// Plans subgraph `s`, failing at the first op that cannot be planned.
/// `inputs_static` says whether the current input shapes hold for every run
/// (false for WHILE bodies, whose loop state may change shape between
/// iterations).
pub(crate) fn plan_subgraph(
    graph: &Graph,
    s: usize,
    input_shapes: &[Vec<usize>],
    inputs_static: bool,
    max_tensor_bytes: usize,
    par: &Parallel,
    ops: &OpRegistry,
) -> Result<SubgraphPlan> {
    let mut plan = plan_lenient(
        graph,
        s,
        input_shapes,
        inputs_static,
        max_tensor_bytes,
        par,
        ops,
    )?;
    match plan.shape_error.take() {
        Some(e) => Err(e),
        None => Ok(plan),
    }
}

/// Plans subgraph `s` like [`plan_subgraph`], except that an op whose output
/// shapes cannot be inferred at these input shapes (a window larger than a
/// default `[1, 1]` input, say) does not stop planning: the first such
/// error is kept in `shape_error`, the op keeps its kernel and its outputs
/// count as data-dependent. Kernels, options and dtypes are still checked
/// for every op, so `Unsupported` errors come out here whatever the shapes.
pub(crate) fn plan_lenient(
    graph: &Graph,
    s: usize,
    input_shapes: &[Vec<usize>],
    inputs_static: bool,
    max_tensor_bytes: usize,
    par: &Parallel,
    ops: &OpRegistry,
) -> Result<SubgraphPlan> {
    let sg = &graph.subgraphs[s];
    let mut plan = SubgraphPlan {
        index: s,
        max_tensor_bytes,
        tensors: Vec::with_capacity(sg.tensors.len()),
        steps: Vec::with_capacity(sg.nodes.len()),
        slots: Vec::new(),
        shape_error: None,
    };
    for (i, t) in sg.tensors.iter().enumerate() {
        let storage = if t.is_variable {
            Storage::Own(variable_initial_value(graph, s, i))
        } else if t.data.is_some() {
            Storage::Const
        } else if byte_size(t.dtype, &t.shape) == Some(0)
            && !sg.inputs.contains(&i)
            && !sg.nodes.iter().any(|n| n.outputs.contains(&i))
        {
            // A zero-element constant (an unweighted bincount's weights)
            // may come without a buffer: it is empty, not unwritten.
            Storage::Own(AlignedBuf::default())
        } else {
            Storage::Empty
        };
        plan.tensors.push(TensorState {
            dtype: t.dtype,
            shape: t.shape.clone(),
            quant: quant_params(t),
            static_shape: t.data.is_some() || !t.signature.iter().any(|&d| d < 0),
            storage,
        });
    }
    for (k, &t) in sg.inputs.iter().enumerate() {
        if let Some(shape) = input_shapes.get(k) {
            plan.tensors[t].shape = shape.clone();
        }
        plan.tensors[t].static_shape = inputs_static;
        if matches!(plan.tensors[t].storage, Storage::Empty) {
            plan.tensors[t].storage = Storage::Own(AlignedBuf::default());
        }
    }
    for n in 0..sg.nodes.len() {
        let action =
            plan_node(graph, &mut plan, n, par, ops).map_err(|e| e.at(op_location(graph, s, n)))?;
        let node = &sg.nodes[n];
        plan.steps.push(Step {
            node: n,
            action,
            inputs: node.inputs.clone(),
            outputs: node.outputs.clone(),
        });
    }
    crate::fuse::fuse(graph, &mut plan);
    for &t in &sg.outputs {
        if matches!(plan.tensors[t].storage, Storage::Empty) {
            plan.tensors[t].storage = Storage::Own(AlignedBuf::default());
        }
    }
    arena::assign_slots(&mut plan);
    Ok(plan)
}

fn tensor_spec<'a>(graph: &'a Graph, plan: &'a SubgraphPlan, t: usize) -> TensorSpec<'a> {
    let info = &graph.subgraphs[plan.index].tensors[t];
    let st = &plan.tensors[t];
    let data = match st.storage {
        Storage::Const | Storage::Folded(_) => plan.data(graph, t),
        _ => None,
    };
    TensorSpec {
        name: &info.name,
        dtype: st.dtype,
        shape: &st.shape,
        quant: st.quant.as_ref(),
        data,
    }
}

fn is_constant(plan: &SubgraphPlan, t: usize) -> bool {
    matches!(plan.tensors[t].storage, Storage::Const | Storage::Folded(_))
}

/// Whether every input of `node` is a constant of the file (folded values
/// may come from SHAPE of a resizable input).
fn all_constant(plan: &SubgraphPlan, node: &ferrite_graph::Node) -> bool {
    node.inputs
        .iter()
        .flatten()
        .all(|&t| matches!(plan.tensors[t].storage, Storage::Const))
}

fn plan_node(
    graph: &Graph,
    plan: &mut SubgraphPlan,
    n: usize,
    par: &Parallel,
    ops: &OpRegistry,
) -> Result<Action> {
    let node = &graph.subgraphs[plan.index].nodes[n];
    let name = match &node.kind {
        OpKind::Builtin { name, .. } => *name,
        OpKind::Custom(_) => "",
    };
    if let Some(c) = control::plan(graph, node)? {
        for &o in &node.outputs {
            plan.tensors[o].static_shape = false;
        }
        return Ok(Action::Control(c));
    }
    if let Some(c) = control::plan_flex(graph, plan.index, n, node)? {
        return Ok(Action::Control(c));
    }
    // A kernel's output buffers are taken before it reads its inputs.
    if let Some(&o) = node
        .outputs
        .iter()
        .find(|&&o| node.inputs.contains(&Some(o)))
    {
        return Err(RuntimeError::invalid("the op writes one of its own inputs")
            .with_tensor(&graph.subgraphs[plan.index].tensors[o].name));
    }
    let mut attrs = Vec::new();
    let mut name = name;
    let named_build = match &node.kind {
        OpKind::Custom(code) => {
            let found = control::named_kernel(graph, ops, code, node);
            let Some(found) = found else {
                return Err(RuntimeError::unsupported(control::custom_op_message(
                    graph, code, node,
                )));
            };
            name = found.name;
            attrs = found.attrs;
            Some(found.build)
        }
        OpKind::Builtin { .. } => None,
    };
    if name == "SHAPE" {
        if let Some(folded) = fold_shape(plan, node)? {
            let out = node.outputs[0];
            plan.tensors[out].storage = Storage::Folded(folded.0);
            plan.tensors[out].shape = folded.1;
            plan.tensors[out].static_shape = true;
            return Ok(Action::Skip);
        }
    }
    let build = match named_build {
        Some(b) => b,
        None => match ops.builtin(name, node.version) {
            Lookup::Found(b) => NamedBuilder::Static(b),
            Lookup::VersionUnsupported { supported } => {
                return Err(RuntimeError::unsupported(format!(
                    "{name} version {} (ferrite runs versions {}..={})",
                    node.version, supported.0, supported.1
                )))
            }
            Lookup::NotFound => {
                let dtype = node
                    .inputs
                    .iter()
                    .flatten()
                    .next()
                    .map(|&t| plan.tensors[t].dtype.name())
                    .unwrap_or("none");
                return Err(RuntimeError::unsupported(format!(
                    "operator {name} (version {}, input dtype {dtype}) is not implemented",
                    node.version
                )));
            }
        },
    };
    let inputs: Vec<Option<TensorSpec>> = node
        .inputs
        .iter()
        .map(|i| i.map(|t| tensor_spec(graph, plan, t)))
        .collect();
    let outputs: Vec<TensorSpec> = node
        .outputs
        .iter()
        .map(|&t| tensor_spec(graph, plan, t))
        .collect();
    let spec = OpSpec {
        code: match node.kind {
            OpKind::Builtin { code, .. } => code,
            OpKind::Custom(_) => ferrite_format::CUSTOM_CODE,
        },
        name,
        version: node.version,
        options: &node.options,
        options2: &node.options2,
        custom_options: node.custom_options.as_ref().map(|c| graph.const_bytes(c)),
        attrs: &attrs,
        inputs: &inputs,
        outputs: &outputs,
    };
    let kernel = build.build(&spec)?;
    drop(inputs);
    drop(outputs);
    match infer_node(graph, plan, node, kernel.as_ref(), par) {
        Ok(true) => Ok(Action::Skip),
        Ok(false) => Ok(Action::Kernel(kernel)),
        // No resize changes what an op makes of constants.
        Err(e) if e.kind == ErrorKind::Unsupported || all_constant(plan, node) => Err(e),
        Err(e) => {
            for &o in &node.outputs {
                plan.tensors[o].static_shape = false;
            }
            if plan.shape_error.is_none() {
                let shapes: Vec<String> = node
                    .inputs
                    .iter()
                    .flatten()
                    .map(|&t| format!("{:?}", plan.tensors[t].shape))
                    .collect();
                let e = e.note(format!("op input shapes {}", shapes.join(", ")));
                plan.shape_error = Some(e.at(op_location(graph, plan.index, n)));
            }
            Ok(Action::Kernel(kernel))
        }
    }
}

/// Infers the output shapes of `node` at the plan's current shapes and,
/// when every input is constant, evaluates it once; true when folded.
fn infer_node(
    graph: &Graph,
    plan: &mut SubgraphPlan,
    node: &ferrite_graph::Node,
    kernel: &dyn Kernel,
    par: &Parallel,
) -> Result<bool> {
    let args: Vec<Option<ShapeArg>> = node
        .inputs
        .iter()
        .map(|i| {
            i.map(|t| ShapeArg {
                dtype: plan.tensors[t].dtype,
                shape: &plan.tensors[t].shape,
                value: if is_constant(plan, t) {
                    plan.data(graph, t)
                } else {
                    None
                },
            })
        })
        .collect();
    let all_static = node
        .inputs
        .iter()
        .flatten()
        .all(|&t| plan.tensors[t].static_shape);
    let shapes = kernel.output_shapes(&args)?;
    drop(args);
    match shapes {
        Some(shapes) => {
            for (&o, shape) in node.outputs.iter().zip(shapes) {
                checked_size(plan.tensors[o].dtype, &shape, plan.max_tensor_bytes)
                    .map_err(|e| e.with_tensor(&graph.subgraphs[plan.index].tensors[o].name))?;
                plan.tensors[o].shape = shape;
                plan.tensors[o].static_shape = all_static;
            }
        }
        None => {
            for &o in &node.outputs {
                plan.tensors[o].static_shape = false;
            }
        }
    }
    let foldable = !node.inputs.is_empty()
        && node.inputs.iter().flatten().all(|&t| is_constant(plan, t))
        && node
            .outputs
            .iter()
            .all(|&o| !graph.subgraphs[plan.index].tensors[o].is_variable);
    if foldable {
        let bufs = eval_kernel(graph, plan, (&node.inputs, &node.outputs), kernel, par)?;
        for (&o, buf) in node.outputs.iter().zip(bufs) {
            plan.tensors[o].storage = Storage::Folded(buf);
            plan.tensors[o].static_shape = true;
        }
        return Ok(true);
    }
    Ok(false)
}

/// SHAPE of a tensor whose shape is static is a constant.
fn fold_shape(
    plan: &SubgraphPlan,
    node: &ferrite_graph::Node,
) -> Result<Option<(AlignedBuf, Vec<usize>)>> {
    let (Some(Some(x)), Some(&out)) = (node.inputs.first(), node.outputs.first()) else {
        return Ok(None);
    };
    if !plan.tensors[*x].static_shape {
        return Ok(None);
    }
    let dims = &plan.tensors[*x].shape;
    let mut buf = AlignedBuf::default();
    let bytes: Vec<u8> = match plan.tensors[out].dtype {
        TensorType::Int64 => dims
            .iter()
            .flat_map(|&d| (d as i64).to_le_bytes())
            .collect(),
        TensorType::Int32 => dims
            .iter()
            .flat_map(|&d| (d as i32).to_le_bytes())
            .collect(),
        other => {
            return Err(RuntimeError::unsupported(format!(
                "SHAPE with output dtype {other}"
            )))
        }
    };
    buf.set(&bytes);
    Ok(Some((buf, vec![dims.len()])))
}

/// Inputs and outputs of one kernel call.
pub(crate) type StepIo<'a> = (&'a [Option<usize>], &'a [usize]);

/// Runs one kernel on the plan's current tensors and returns the output
/// buffers (not yet stored), after re-inferring the output shapes.
pub(crate) fn eval_kernel(
    graph: &Graph,
    plan: &mut SubgraphPlan,
    (node_inputs, node_outputs): StepIo<'_>,
    kernel: &dyn Kernel,
    par: &Parallel,
) -> Result<Vec<AlignedBuf>> {
    let sg = &graph.subgraphs[plan.index];
    // Inputs must hold exactly the bytes their shapes say; kernels rely on it.
    for &t in node_inputs.iter().flatten() {
        let st = &plan.tensors[t];
        let data = plan.data(graph, t).ok_or_else(|| {
            RuntimeError::state("tensor is read before anything wrote it")
                .with_tensor(&sg.tensors[t].name)
        })?;
        if let Some(size) = byte_size(st.dtype, &st.shape) {
            if data.len() != size && st.dtype != TensorType::Resource {
                return Err(RuntimeError::invalid(format!(
                    "holds {} bytes but shape {:?} of {} needs {size}",
                    data.len(),
                    st.shape,
                    st.dtype
                ))
                .with_tensor(&sg.tensors[t].name));
            }
        }
    }
    let args: Vec<Option<ShapeArg>> = node_inputs
        .iter()
        .map(|i| {
            i.map(|t| ShapeArg {
                dtype: plan.tensors[t].dtype,
                shape: &plan.tensors[t].shape,
                value: plan.data(graph, t),
            })
        })
        .collect();
    let shapes = kernel.output_shapes(&args)?.ok_or_else(|| {
        RuntimeError::new(
            ErrorKind::InvalidInput,
            "output shape unknown with all inputs known",
        )
    })?;
    drop(args);
    if shapes.len() != node_outputs.len() {
        return Err(RuntimeError::invalid(
            "kernel produced the wrong number of output shapes",
        ));
    }
    let mut bufs = Vec::with_capacity(node_outputs.len());
    // State the kernel updates gets scratch outputs after the real ones.
    let state_inputs: Vec<usize> = kernel
        .state_inputs()
        .iter()
        .filter_map(|&k| node_inputs.get(k).copied().flatten())
        .collect();
    for (&o, shape) in node_outputs.iter().zip(shapes) {
        let size = checked_size(plan.tensors[o].dtype, &shape, plan.max_tensor_bytes)
            .map_err(|e| e.with_tensor(&sg.tensors[o].name));
        let size = match size {
            Ok(n) => n,
            Err(e) => {
                // Hand back what was taken so the arena stays whole.
                for (&t, buf) in node_outputs.iter().zip(bufs) {
                    plan.put_buf(t, buf);
                }
                return Err(e);
            }
        };
        plan.tensors[o].shape = shape;
        let mut buf = plan.take_buf(o);
        buf.resize(size);
        bufs.push(buf);
    }
    let mut state_bufs: Vec<AlignedBuf> = state_inputs
        .iter()
        .map(|&t| {
            let mut b = AlignedBuf::default();
            b.resize(byte_size(plan.tensors[t].dtype, &plan.tensors[t].shape).unwrap_or(0));
            b
        })
        .collect();
    let result = {
        let plan_ref: &SubgraphPlan = plan;
        let inputs: Vec<Option<TensorRef>> = node_inputs
            .iter()
            .map(|i| {
                i.and_then(|t| {
                    let st = &plan_ref.tensors[t];
                    Some(TensorRef {
                        dtype: st.dtype,
                        shape: &st.shape,
                        data: plan_ref.data(graph, t)?,
                        quant: st.quant.as_ref(),
                    })
                })
            })
            .collect();
        let mut outputs: Vec<TensorMut> = node_outputs
            .iter()
            .chain(&state_inputs)
            .zip(bufs.iter_mut().chain(state_bufs.iter_mut()))
            .map(|(&o, buf)| {
                let st = &plan_ref.tensors[o];
                TensorMut {
                    dtype: st.dtype,
                    shape: &st.shape,
                    buf,
                    quant: st.quant.as_ref(),
                }
            })
            .collect();
        kernel.eval(&mut EvalIo {
            inputs: &inputs,
            outputs: &mut outputs,
            par,
        })
    };
    if let Err(e) = result {
        // Hand the buffers back so the arena stays intact for the next invoke.
        for (&o, buf) in node_outputs.iter().zip(bufs) {
            plan.put_buf(o, buf);
        }
        return Err(e.into());
    }
    let graph_tensors = &graph.subgraphs[plan.index].tensors;
    for (&t, buf) in state_inputs.iter().zip(state_bufs) {
        // Only variables persist; a constant state input stays constant.
        if graph_tensors[t].is_variable {
            plan.tensors[t].storage = Storage::Own(buf);
        }
    }
    Ok(bufs)
}

/// Evaluates a kernel step and stores its outputs.
pub(crate) fn run_kernel(
    graph: &Graph,
    plan: &mut SubgraphPlan,
    io: StepIo<'_>,
    kernel: &dyn Kernel,
    par: &Parallel,
) -> Result<()> {
    let bufs = eval_kernel(graph, plan, io, kernel, par)?;
    for (&o, buf) in io.1.iter().zip(bufs) {
        plan.put_buf(o, buf);
    }
    Ok(())
}
