//! Freezing: folds resource variables that only CALL_ONCE initialisation
//! assigns into constant tensors, and optionally pins dynamic input shapes.
//!
//! Converters keep a variable as VAR_HANDLE / ASSIGN_VARIABLE in a CALL_ONCE
//! init subgraph plus VAR_HANDLE / READ_VARIABLE where it is used. When
//! nothing else assigns it, its value is fixed once the init subgraph has
//! run, so tools that only accept constants can take the model after the
//! value is baked in. Init subgraphs are evaluated with ferrite's own
//! interpreter, so values computed from constants fold too.
//!
//! A variable assigned anywhere else (streaming state, setter signatures)
//! has no constant value; the whole model is then refused with a
//! [`Finding`] per offending op, and nothing is written.

mod analysis;
mod compact;
mod evaluate;
mod pin;
mod rewrite;
pub mod samples;

use std::fmt;

use ferrite_format::{FormatError, Model, TensorType};
use ferrite_graph::GraphError;
use ferrite_runtime::RuntimeError;

/// What to do besides folding variables.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Input shapes to pin: a tensor name or signature input name, and its
    /// concrete dimensions.
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Why one op stops a model from being frozen.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The variable's shared name (prefixed by its container when it has
    /// one), when known.
    pub variable: Option<String>,
    pub subgraph: usize,
    pub op_index: usize,
    pub op: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = &self.variable {
            write!(f, "variable \"{v}\": ")?;
        }
        write!(
            f,
            "{} at subgraph {} op {}: {}",
            self.op, self.subgraph, self.op_index, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FreezeError {
    /// The model has state that is not a constant; nothing was written.
    #[error("cannot freeze: {}", join(.0))]
    Refused(Vec<Finding>),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("evaluating CALL_ONCE init subgraph {subgraph}: {source}")]
    Evaluate {
        subgraph: usize,
        source: RuntimeError,
    },
    #[error("inferring shapes of subgraph {subgraph}: {source}")]
    Shapes {
        subgraph: usize,
        source: RuntimeError,
    },
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A bug in the pass or the writer: the result did not verify.
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A variable that became a constant.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenVariable {
    pub container: String,
    pub shared_name: String,
    pub dtype: TensorType,
    pub shape: Vec<usize>,
    /// READ_VARIABLE ops replaced by the constant.
    pub reads: usize,
}

/// An input whose shape was pinned.
#[derive(Debug, Clone, PartialEq)]
pub struct PinnedInput {
    pub subgraph: usize,
    pub tensor: String,
    pub shape: Vec<usize>,
}

/// What freezing changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub variables: Vec<FrozenVariable>,
    pub removed_ops: usize,
    /// Names of the subgraphs removed (init subgraphs left empty).
    pub removed_subgraphs: Vec<String>,
    pub removed_buffers: usize,
    pub removed_operator_codes: usize,
    pub pinned: Vec<PinnedInput>,
    /// Tensors of pinned subgraphs whose shape still depends on data.
    pub still_dynamic: usize,
}

/// A frozen model: the bytes ferrite's writer produced (already verified)
/// and what changed.
#[derive(Debug)]
pub struct Frozen {
    pub bytes: Vec<u8>,
    pub report: Report,
}

/// Freezes `model`. Fails with [`FreezeError::Refused`] when a variable is
/// assigned outside CALL_ONCE initialisation or cannot be followed.
pub fn freeze(model: &Model<'_>, options: &Options) -> Result<Frozen, FreezeError> {
    let analysis = analysis::analyze(model);
    if !analysis.findings.is_empty() {
        return Err(FreezeError::Refused(analysis.findings));
    }
    let values = evaluate::initial_values(model, &analysis)?;
    let mut frozen = model.clone();
    let mut report = rewrite::apply(&mut frozen, &analysis, &values)?;
    let counts = compact::unused_buffers_and_codes(&mut frozen);
    report.removed_buffers = counts.0;
    report.removed_operator_codes = counts.1;
    let mut bytes = frozen.write()?;
    check_written(&bytes)?;
    if !options.input_shapes.is_empty() {
        let pinned = pin::pin(&bytes, &options.input_shapes)?;
        bytes = pinned.bytes;
        check_written(&bytes)?;
        report.pinned = pinned.pinned;
        report.still_dynamic = pinned.still_dynamic;
    }
    Ok(Frozen { bytes, report })
}

/// The written model must verify; a failure is ferrite's bug, not the input's.
fn check_written(bytes: &[u8]) -> Result<(), FreezeError> {
    Model::parse(bytes)
        .map(drop)
        .map_err(|e| FreezeError::Internal(format!("the frozen model does not verify: {e}")))
}

/// How a variable is named in messages.
pub(crate) fn var_display(container: &str, shared_name: &str) -> String {
    if container.is_empty() {
        shared_name.to_string()
    } else {
        format!("{container}/{shared_name}")
    }
}
