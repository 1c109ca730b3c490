//! The interpreter: owns the plans of every subgraph, the thread pool and
//! the state (variables, hash tables, CALL_ONCE) that persists across invokes.

use std::sync::Arc;

use ferrite_format::TensorType;
use ferrite_graph::{Graph, Signature};
use ferrite_kernels::registry::OpRegistry;
use ferrite_kernels::strings;
use ferrite_kernels::Parallel;

use crate::control::{Control, State, StoredTensor};
use crate::error::{ErrorKind, Location, Result, RuntimeError};
use crate::plan::{self, byte_size, op_location, Action, Storage, SubgraphPlan};
use crate::state_ops;

/// Interpreter settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads for kernels; 1 runs everything on the calling thread.
    pub threads: usize,
    /// WHILE loops that run longer than this fail with `LimitExceeded`.
    pub max_loop_iterations: u64,
    /// Time every op (see [`Interpreter::profile`]); off by default.
    pub profile: bool,
    /// The largest tensor, in bytes, a model or input may make ferrite
    /// allocate; larger ones fail with `LimitExceeded`.
    pub max_tensor_bytes: usize,
}

/// Accumulated time of one op over the invokes since profiling started.
#[derive(Debug, Clone)]
pub struct OpProfile {
    pub subgraph: usize,
    pub op_index: usize,
    pub op: String,
    pub calls: u64,
    pub total: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 1,
            max_loop_iterations: 10_000_000,
            profile: false,
            max_tensor_bytes: 4 << 30,
        }
    }
}

/// A tensor's current value, borrowed from the interpreter.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub name: &'a str,
    pub dtype: TensorType,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

pub struct Interpreter {
    graph: Arc<Graph>,
    plans: Vec<SubgraphPlan>,
    /// Subgraphs whose input shapes changed since they were planned.
    stale: Vec<bool>,
    par: Parallel,
    options: Options,
    ops: OpRegistry,
    state: State,
    /// Per (subgraph, op): calls and total time, when profiling.
    timings: std::collections::HashMap<(usize, usize), (u64, std::time::Duration)>,
}

/// Subgraphs that are entered directly (primary and signatures); others
/// are only reached through control flow and get data-dependent shapes.
fn entry_subgraphs(graph: &Graph) -> Vec<bool> {
    let mut entry = vec![false; graph.subgraphs.len()];
    entry[0] = true;
    for s in &graph.signatures {
        if let Some(e) = entry.get_mut(s.subgraph) {
            *e = true;
        }
    }
    entry
}

impl Interpreter {
    /// Plans every subgraph; fails here, not at invoke, when an op is not
    /// supported. An entry subgraph with resizable inputs whose default
    /// shapes cannot be planned (a 512-tap window over a default `[1, 1]`
    /// input) is planned at its first run instead, after the caller has
    /// resized its inputs; only its kernels are checked here.
    pub fn new(graph: Arc<Graph>, options: Options) -> Result<Self> {
        Self::with_ops(graph, options, OpRegistry::default())
    }

    /// As [`Interpreter::new`], resolving ops through `ops` (the static
    /// tables plus custom ops registered at run time).
    pub fn with_ops(graph: Arc<Graph>, options: Options, ops: OpRegistry) -> Result<Self> {
        let par = Parallel::new(options.threads)?;
        let mut interp = Interpreter {
            plans: Vec::new(),
            stale: vec![false; graph.subgraphs.len()],
            graph,
            par,
            options,
            ops,
            state: State::default(),
            timings: Default::default(),
        };
        for (s, entry) in entry_subgraphs(&interp.graph).into_iter().enumerate() {
            let shapes = interp.declared_input_shapes(s);
            let mut p = plan::plan_lenient(
                &interp.graph,
                s,
                &shapes,
                entry,
                interp.options.max_tensor_bytes,
                &interp.par,
                &interp.ops,
            )?;
            if let Some(e) = p.shape_error.take() {
                if !entry {
                    // Subgraphs run by control flow get their shapes from
                    // data; every kernel re-infers them when it runs.
                } else if interp.resizable_inputs(s) {
                    interp.stale[s] = true;
                } else {
                    return Err(e);
                }
            }
            interp.plans.push(p);
        }
        Ok(interp)
    }

    /// Whether some input of subgraph `s` has a dimension its shape
    /// signature leaves open.
    fn resizable_inputs(&self, s: usize) -> bool {
        let sg = &self.graph.subgraphs[s];
        sg.inputs
            .iter()
            .any(|&t| sg.tensors[t].signature.iter().any(|&d| d < 0))
    }

    /// Adds to a planning error at the current input shapes what those
    /// shapes are and that they need a resize.
    fn needs_resize(&self, s: usize, e: RuntimeError) -> RuntimeError {
        let sg = &self.graph.subgraphs[s];
        let inputs: Vec<String> = sg
            .inputs
            .iter()
            .map(|&t| {
                format!(
                    "'{}' {:?} (shape signature {:?})",
                    sg.tensors[t].name, self.plans[s].tensors[t].shape, sg.tensors[t].signature
                )
            })
            .collect();
        let message = format!(
            "{}; the model cannot be planned at input shapes {}: the input needs a resize to a shape this op accepts",
            e.message,
            inputs.join(", ")
        );
        RuntimeError { message, ..e }
    }

    fn declared_input_shapes(&self, s: usize) -> Vec<Vec<usize>> {
        let sg = &self.graph.subgraphs[s];
        sg.inputs
            .iter()
            .map(|&t| sg.tensors[t].shape.clone())
            .collect()
    }

    pub fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }

    pub fn threads(&self) -> usize {
        self.par.threads()
    }

    /// Bytes held by tensors of all plans (arena, inputs, outputs, folded
    /// constants), not counting the mapped model.
    pub fn resident_bytes(&self) -> usize {
        self.plans.iter().map(crate::arena::resident_bytes).sum()
    }

    /// The current shape of tensor `t` of subgraph `s`.
    pub fn tensor_shape(&self, s: usize, t: usize) -> &[usize] {
        &self.plans[s].tensors[t].shape
    }

    fn tensor_name(&self, s: usize, t: usize) -> &str {
        &self.graph.subgraphs[s].tensors[t].name
    }

    /// Changes the shape of input tensor `t` of subgraph `s`; the subgraph
    /// is replanned at the next run. Dimensions fixed by the shape signature
    /// must keep their size.
    pub fn resize_tensor(&mut self, s: usize, t: usize, shape: &[usize]) -> Result<()> {
        let info = &self.graph.subgraphs[s].tensors[t];
        let sig = &info.signature;
        let compatible = sig.len() == shape.len()
            && sig
                .iter()
                .zip(shape)
                .all(|(&d, &n)| d < 0 || d as usize == n);
        if !compatible {
            return Err(RuntimeError::invalid(format!(
                "cannot resize to {shape:?}: the model fixes this input to {sig:?} (-1 = any)"
            ))
            .with_tensor(&info.name));
        }
        plan::checked_size(info.dtype, shape, self.options.max_tensor_bytes)
            .map_err(|e| e.with_tensor(&info.name))?;
        if self.plans[s].tensors[t].shape != shape {
            self.plans[s].tensors[t].shape = shape.to_vec();
            self.stale[s] = true;
        }
        Ok(())
    }

    /// Writes `data` into input tensor `t` of subgraph `s`, checking its size
    /// against the current shape (STRING buffers are validated instead).
    pub fn set_tensor_data(&mut self, s: usize, t: usize, data: &[u8]) -> Result<()> {
        let st = &self.plans[s].tensors[t];
        let name = self.tensor_name(s, t).to_string();
        match st.dtype {
            TensorType::String => {
                let n = strings::decode(data)
                    .map_err(|e| RuntimeError::from(e).with_tensor(&name))?
                    .len();
                if n != st.shape.iter().product::<usize>() {
                    return Err(RuntimeError::invalid(format!(
                        "{n} strings given for shape {:?}",
                        st.shape
                    ))
                    .with_tensor(&name));
                }
            }
            dtype => {
                let need = byte_size(dtype, &st.shape).unwrap_or(usize::MAX);
                if data.len() != need {
                    return Err(RuntimeError::invalid(format!(
                        "{} bytes given, shape {:?} of {dtype} needs {need}",
                        data.len(),
                        st.shape
                    ))
                    .with_tensor(&name));
                }
            }
        }
        let shape = st.shape.clone();
        self.plans[s].write(t, &shape, data);
        Ok(())
    }

    /// The buffer of input or output tensor `t` of subgraph `s`, to read
    /// and write in place. It is sized to the current shape (new bytes are
    /// zero) and stays where it is until a resize or a replan. STRING
    /// tensors, constants and arena intermediates have no such buffer.
    pub fn tensor_data_mut(&mut self, s: usize, t: usize) -> Result<&mut [u8]> {
        let name = self.tensor_name(s, t).to_string();
        let st = &mut self.plans[s].tensors[t];
        let dtype = st.dtype;
        let need = byte_size(dtype, &st.shape).filter(|_| dtype != TensorType::String);
        match (&mut st.storage, need) {
            (Storage::Own(buf), Some(need)) => {
                if buf.bytes().len() != need {
                    buf.resize(need);
                }
                Ok(buf.bytes_mut())
            }
            _ => Err(RuntimeError::invalid(format!(
                "a {dtype} tensor that is not an input or output buffer cannot be viewed in place"
            ))
            .with_tensor(&name)),
        }
    }

    /// The current value of tensor `t` of subgraph `s`.
    pub fn tensor(&self, s: usize, t: usize) -> Result<TensorView<'_>> {
        let plan = &self.plans[s];
        let data = plan.data(&self.graph, t).ok_or_else(|| {
            RuntimeError::state("tensor has no value yet; invoke first")
                .with_tensor(self.tensor_name(s, t))
        })?;
        Ok(TensorView {
            name: self.tensor_name(s, t),
            dtype: plan.tensors[t].dtype,
            shape: &plan.tensors[t].shape,
            data,
        })
    }

    /// Runs subgraph `s` (replanning first if an input was resized).
    pub fn run_subgraph(&mut self, s: usize) -> Result<()> {
        if s >= self.plans.len() {
            return Err(RuntimeError::invalid(format!(
                "subgraph {s} does not exist"
            )));
        }
        for &t in &self.graph.subgraphs[s].inputs {
            if self.plans[s].data(&self.graph, t).is_none() {
                return Err(
                    RuntimeError::invalid("input was not set").with_tensor(self.tensor_name(s, t))
                );
            }
        }
        if self.stale[s] {
            self.replan(s)?;
        }
        // The whole run happens on a pool thread with the other workers kept
        // awake, so each op's parallel section splits work among threads
        // that are already spinning instead of waking them.
        let par = self.par.clone();
        par.run_awake(|| self.run(s))
    }

    fn replan(&mut self, s: usize) -> Result<()> {
        let sg = &self.graph.subgraphs[s];
        let shapes: Vec<Vec<usize>> = sg
            .inputs
            .iter()
            .map(|&t| self.plans[s].tensors[t].shape.clone())
            .collect();
        let mut fresh = plan::plan_lenient(
            &self.graph,
            s,
            &shapes,
            entry_subgraphs(&self.graph)[s],
            self.options.max_tensor_bytes,
            &self.par,
            &self.ops,
        )?;
        if let Some(e) = fresh.shape_error.take() {
            return Err(self.needs_resize(s, e));
        }
        // Carry the input values over; their shapes are what was planned.
        for &t in &sg.inputs {
            let buf = self.plans[s].take_buf(t);
            fresh.put_buf(t, buf);
        }
        self.plans[s] = fresh;
        self.stale[s] = false;
        Ok(())
    }

    /// Runs the primary subgraph.
    pub fn invoke(&mut self) -> Result<()> {
        self.run_subgraph(0)
    }

    /// Time spent per op since the interpreter was made (or the profile was
    /// cleared), slowest first; empty unless `Options::profile` is set. Time
    /// of control-flow ops includes the subgraphs they run.
    pub fn profile(&self) -> Vec<OpProfile> {
        let mut v: Vec<OpProfile> = self
            .timings
            .iter()
            .map(|(&(s, n), &(calls, total))| OpProfile {
                subgraph: s,
                op_index: n,
                op: self.graph.subgraphs[s].nodes[n].kind.display_name(),
                calls,
                total,
            })
            .collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.total));
        v
    }

    pub fn clear_profile(&mut self) {
        self.timings.clear();
    }

    /// Forgets variables, hash tables and CALL_ONCE history, as a new
    /// interpreter would have them.
    pub fn reset_state(&mut self) {
        self.state = State::default();
        for plan in &mut self.plans {
            plan.reset_variables(&self.graph);
        }
    }

    /// Restores the variable tensors (the state of LSTM-style kernels) to
    /// their initial values and leaves resource variables, hash tables and
    /// CALL_ONCE history alone, as LiteRT's `ResetVariableTensors` does.
    pub fn reset_variable_tensors(&mut self) {
        for plan in &mut self.plans {
            plan.reset_variables(&self.graph);
        }
    }

    /// The current value of resource variable `container`/`shared_name`,
    /// if anything assigned it since the last reset.
    pub fn variable(&self, container: &str, shared_name: &str) -> Option<TensorView<'_>> {
        let key = (container.to_string(), shared_name.to_string());
        let (key, id) = self.state.resource_ids.get_key_value(&key)?;
        let v = self.state.variables.get(id)?;
        Some(TensorView {
            name: &key.1,
            dtype: v.dtype,
            shape: &v.shape,
            data: &v.data,
        })
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.graph.signatures
    }

    fn run(&mut self, s: usize) -> Result<()> {
        let mut plan = std::mem::take(&mut self.plans[s]);
        let result = self.exec(&mut plan);
        self.plans[s] = plan;
        result
    }

    fn exec(&mut self, plan: &mut SubgraphPlan) -> Result<()> {
        let s = plan.index;
        let steps = std::mem::take(&mut plan.steps);
        let mut result = Ok(());
        for step in &steps {
            let started = self.options.profile.then(std::time::Instant::now);
            let r = match &step.action {
                Action::Skip => Ok(()),
                Action::Kernel(k) => {
                    let io = (&step.inputs[..], &step.outputs[..]);
                    plan::run_kernel(&self.graph, plan, io, k.as_ref(), &self.par)
                }
                Action::Control(c) => self.exec_control(plan, step.node, c),
            };
            if let Some(t) = started {
                if !matches!(step.action, Action::Skip) {
                    let e = self.timings.entry((s, step.node)).or_default();
                    e.0 += 1;
                    e.1 += t.elapsed();
                }
            }
            if let Err(e) = r {
                result = Err(e.at(op_location(&self.graph, s, step.node)));
                break;
            }
        }
        plan.steps = steps;
        result
    }

    /// Copies the value of `plan`'s tensor `t` out.
    fn read(&self, plan: &SubgraphPlan, t: usize) -> Result<StoredTensor> {
        let data = plan.data(&self.graph, t).ok_or_else(|| {
            RuntimeError::state("tensor is read before anything wrote it")
                .with_tensor(self.tensor_name(plan.index, t))
        })?;
        Ok(StoredTensor {
            dtype: plan.tensors[t].dtype,
            shape: plan.tensors[t].shape.clone(),
            data: data.to_vec(),
        })
    }

    /// Runs subgraph `callee` on `args`, returning its outputs.
    fn call(&mut self, callee: usize, args: &[StoredTensor]) -> Result<Vec<StoredTensor>> {
        let inputs = self.graph.subgraphs[callee].inputs.clone();
        for (&t, v) in inputs.iter().zip(args) {
            if self.plans[callee].tensors[t].dtype != v.dtype {
                return Err(RuntimeError::invalid(format!(
                    "subgraph {callee} input is {} but {} was passed",
                    self.plans[callee].tensors[t].dtype, v.dtype
                )));
            }
            self.plans[callee].write(t, &v.shape, &v.data);
        }
        self.run(callee)?;
        let plan = std::mem::take(&mut self.plans[callee]);
        let outs = self.graph.subgraphs[callee]
            .outputs
            .iter()
            .map(|&t| self.read(&plan, t))
            .collect();
        self.plans[callee] = plan;
        outs
    }

    fn exec_control(&mut self, plan: &mut SubgraphPlan, n: usize, control: &Control) -> Result<()> {
        let graph = Arc::clone(&self.graph);
        let node = &graph.subgraphs[plan.index].nodes[n];
        let input = |k: usize| node.inputs.get(k).copied().flatten();
        let mut outputs: Vec<StoredTensor> = Vec::new();
        match control {
            Control::CallOnce { init } => {
                if self.state.call_once_done.insert(*init) {
                    if let Err(e) = self.run(*init) {
                        self.state.call_once_done.remove(init);
                        return Err(e);
                    }
                }
            }
            Control::If {
                then_branch,
                else_branch,
            } => {
                let cond = self.read(
                    plan,
                    input(0).ok_or_else(|| RuntimeError::invalid("IF needs a condition"))?,
                )?;
                let taken = match cond.data.first() {
                    Some(_) if cond.dtype == TensorType::Bool => cond.data[0] != 0,
                    Some(_) => cond.data.iter().any(|&b| b != 0),
                    None => return Err(RuntimeError::invalid("IF condition is empty")),
                };
                let args = node.inputs[1..]
                    .iter()
                    .map(|t| {
                        self.read(
                            plan,
                            t.ok_or_else(|| RuntimeError::invalid("IF input omitted"))?,
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                outputs = self.call(if taken { *then_branch } else { *else_branch }, &args)?;
            }
            Control::While { cond, body } => {
                let mut state = node
                    .inputs
                    .iter()
                    .map(|t| {
                        self.read(
                            plan,
                            t.ok_or_else(|| RuntimeError::invalid("WHILE input omitted"))?,
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut iterations = 0u64;
                loop {
                    let c = self.call(*cond, &state)?;
                    let go = c
                        .first()
                        .and_then(|c| c.data.first())
                        .is_some_and(|&b| b != 0);
                    if !go {
                        break;
                    }
                    iterations += 1;
                    if iterations > self.options.max_loop_iterations {
                        return Err(RuntimeError::new(
                            ErrorKind::LimitExceeded,
                            format!(
                                "WHILE ran more than {} iterations (raise max_loop_iterations if this is intended)",
                                self.options.max_loop_iterations
                            ),
                        ));
                    }
                    state = self.call(*body, &state)?;
                }
                outputs = state;
            }
            state_op => {
                let inputs = node
                    .inputs
                    .iter()
                    .map(|t| t.map(|t| self.read(plan, t)).transpose())
                    .collect::<Result<Vec<_>>>()?;
                outputs = state_ops::exec(&mut self.state, state_op, &inputs)?;
            }
        }
        if outputs.len() < node.outputs.len() && !outputs.is_empty() {
            return Err(RuntimeError::invalid("control op produced too few outputs"));
        }
        for (&t, v) in node.outputs.iter().zip(outputs) {
            let want = plan.tensors[t].dtype;
            if want != v.dtype && want != TensorType::Resource {
                return Err(RuntimeError::invalid(format!(
                    "output is {want} but {} was produced",
                    v.dtype
                ))
                .with_tensor(&graph.subgraphs[plan.index].tensors[t].name));
            }
            plan.write(t, &v.shape, &v.data);
        }
        Ok(())
    }

    /// The error location of op `n` of subgraph `s`, for callers.
    pub fn op_location(&self, s: usize, n: usize) -> Location {
        op_location(&self.graph, s, n)
    }
}
