//! A serialisable overview of a model: what `ferrite inspect` shows, and
//! what tests compare against the corpus manifest.

use std::collections::{BTreeMap, HashSet};

use ferrite_format::{Model, SubGraph, Tensor, TensorType};
use serde::Serialize;

pub mod quant;
mod resources;

pub use quant::QuantSummary;
pub use resources::{
    ControlFlowEdge, CustomOpInfo, HashTableInfo, OpLocation, Resources, VariableInfo,
};

/// Everything `ferrite inspect` reports about a model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub description: Option<String>,
    pub schema_version: u32,
    /// The `min_runtime_version` metadata, NUL padding removed.
    pub min_runtime_version: Option<String>,
    pub metadata_names: Vec<String>,
    pub subgraphs: Vec<SubgraphInfo>,
    pub signatures: Vec<SignatureInfo>,
    /// Inputs and outputs of the primary subgraph (subgraph 0).
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// Operator name -> count over all subgraphs; custom ops as
    /// `CUSTOM:<custom_code>`.
    pub op_histogram: BTreeMap<String, usize>,
    /// Operator name -> the versions used, ascending.
    pub op_versions: BTreeMap<String, Vec<i32>>,
    /// numpy-style dtype name -> tensor counts and constant bytes.
    pub tensors_by_dtype: BTreeMap<String, DtypeStats>,
    pub quantization: QuantSummary,
    pub resources: Resources,
    pub control_flow: Vec<ControlFlowEdge>,
    pub custom_ops: Vec<CustomOpInfo>,
    pub sparse_tensors: Vec<SparseTensorInfo>,
    pub sizes: SizeBreakdown,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubgraphInfo {
    pub index: usize,
    pub name: Option<String>,
    pub num_ops: usize,
    pub num_tensors: usize,
    /// Tensor indices of the subgraph's inputs and outputs.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
}

/// One tensor as a caller sees it.
#[derive(Debug, Clone, Serialize)]
pub struct TensorInfo {
    pub index: usize,
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<i32>,
    /// -1 marks a dimension the caller may resize.
    pub shape_signature: Vec<i32>,
    pub quantization: Option<QuantParams>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuantParams {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureInfo {
    pub key: Option<String>,
    pub subgraph_index: u32,
    pub inputs: Vec<SignatureTensor>,
    pub outputs: Vec<SignatureTensor>,
}

/// A signature's alias for one tensor of its subgraph.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureTensor {
    /// The name in the signature, e.g. `x`.
    pub name: Option<String>,
    pub tensor_index: u32,
    /// The tensor's own name, e.g. `serving_default_x:0`.
    pub tensor_name: String,
    pub dtype: &'static str,
    pub shape: Vec<i32>,
    pub shape_signature: Vec<i32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DtypeStats {
    pub tensors: usize,
    /// Tensors with data in the file.
    pub constant_tensors: usize,
    /// Bytes of constant data, each buffer counted once.
    pub constant_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SparseTensorInfo {
    pub subgraph: usize,
    pub tensor_index: usize,
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<i32>,
}

/// Where the file's bytes go.
#[derive(Debug, Clone, Serialize)]
pub struct SizeBreakdown {
    pub file_bytes: u64,
    /// Buffers referenced by tensors (weights and other constants).
    pub constant_bytes: u64,
    /// Buffers referenced by metadata entries.
    pub metadata_bytes: u64,
    /// Everything else: the flatbuffer tables, names, padding.
    pub graph_bytes: u64,
}

/// The numpy-style name of a dtype: `float32`, `int8`, `string`, ...
pub fn dtype_name(t: TensorType) -> &'static str {
    use TensorType::*;
    match t {
        Float32 => "float32",
        Float16 => "float16",
        Int32 => "int32",
        Uint8 => "uint8",
        Int64 => "int64",
        String => "string",
        Bool => "bool",
        Int16 => "int16",
        Complex64 => "complex64",
        Int8 => "int8",
        Float64 => "float64",
        Complex128 => "complex128",
        Uint64 => "uint64",
        Resource => "resource",
        Variant => "variant",
        Uint32 => "uint32",
        Uint16 => "uint16",
        Int4 => "int4",
        Bfloat16 => "bfloat16",
    }
}

impl TensorInfo {
    fn new(sg: &SubGraph<'_>, index: i32) -> Self {
        let t = &sg.tensors[index as usize];
        TensorInfo {
            index: index as usize,
            name: t.display_name().to_owned(),
            dtype: dtype_name(t.dtype),
            shape: t.dims().to_vec(),
            shape_signature: t.signature_dims().to_vec(),
            quantization: quant_params(t),
        }
    }
}

fn quant_params(t: &Tensor) -> Option<QuantParams> {
    let q = t.quantization.as_ref().filter(|q| q.is_affine())?;
    Some(QuantParams {
        scale: q.scale.clone().unwrap_or_default(),
        zero_point: q.zero_point.clone().unwrap_or_default(),
        quantized_dimension: q.quantized_dimension,
    })
}

impl ModelSummary {
    /// Summarises a verified model; `file_size` is the length of the file
    /// it came from (for the size breakdown).
    pub fn from_model(model: &Model<'_>, file_size: u64) -> Self {
        let primary = &model.subgraphs[0];
        let (tensors_by_dtype, constant_bytes) = dtype_stats(model);
        let metadata_bytes = metadata_bytes(model);
        ModelSummary {
            description: model.description.clone(),
            schema_version: model.version,
            min_runtime_version: model.metadata_data("min_runtime_version").map(|d| {
                let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
                String::from_utf8_lossy(&d[..end]).into_owned()
            }),
            metadata_names: model
                .metadata
                .iter()
                .map(|m| m.name.clone().unwrap_or_default())
                .collect(),
            subgraphs: model
                .subgraphs
                .iter()
                .enumerate()
                .map(|(index, sg)| SubgraphInfo {
                    index,
                    name: sg.name.clone(),
                    num_ops: sg.operators.len(),
                    num_tensors: sg.tensors.len(),
                    inputs: sg.inputs.clone(),
                    outputs: sg.outputs.clone(),
                })
                .collect(),
            signatures: model
                .signature_defs
                .iter()
                .map(|s| signature(model, s))
                .collect(),
            inputs: primary
                .inputs
                .iter()
                .map(|&i| TensorInfo::new(primary, i))
                .collect(),
            outputs: primary
                .outputs
                .iter()
                .map(|&i| TensorInfo::new(primary, i))
                .collect(),
            op_histogram: op_histogram(model),
            op_versions: op_versions(model),
            tensors_by_dtype,
            quantization: quant::summarize(model),
            resources: resources::resources(model),
            control_flow: resources::control_flow(model),
            custom_ops: resources::custom_ops(model),
            sparse_tensors: sparse_tensors(model),
            sizes: SizeBreakdown {
                file_bytes: file_size,
                constant_bytes,
                metadata_bytes,
                graph_bytes: file_size.saturating_sub(constant_bytes + metadata_bytes),
            },
        }
    }
}

fn signature(model: &Model<'_>, s: &ferrite_format::SignatureDef) -> SignatureInfo {
    let sg = &model.subgraphs[s.subgraph_index as usize];
    let map = |maps: &[ferrite_format::TensorMap]| {
        maps.iter()
            .map(|m| {
                let t = &sg.tensors[m.tensor_index as usize];
                SignatureTensor {
                    name: m.name.clone(),
                    tensor_index: m.tensor_index,
                    tensor_name: t.display_name().to_owned(),
                    dtype: dtype_name(t.dtype),
                    shape: t.dims().to_vec(),
                    shape_signature: t.signature_dims().to_vec(),
                }
            })
            .collect()
    };
    SignatureInfo {
        key: s.signature_key.clone(),
        subgraph_index: s.subgraph_index,
        inputs: map(&s.inputs),
        outputs: map(&s.outputs),
    }
}

fn op_histogram(model: &Model<'_>) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for op in model.subgraphs.iter().flat_map(|sg| &sg.operators) {
        let name = model.operator_codes[op.opcode_index as usize].display_name();
        *h.entry(name).or_insert(0) += 1;
    }
    h
}

/// Versions of the operator codes that some operator actually uses.
fn op_versions(model: &Model<'_>) -> BTreeMap<String, Vec<i32>> {
    let used: HashSet<u32> = model
        .subgraphs
        .iter()
        .flat_map(|sg| sg.operators.iter().map(|op| op.opcode_index))
        .collect();
    let mut v: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (i, code) in model.operator_codes.iter().enumerate() {
        if used.contains(&(i as u32)) {
            v.entry(code.display_name()).or_default().push(code.version);
        }
    }
    for versions in v.values_mut() {
        versions.sort_unstable();
        versions.dedup();
    }
    v
}

/// Per-dtype tensor counts, and the total bytes of tensor-referenced
/// buffers (a buffer shared by several tensors counts once).
fn dtype_stats(model: &Model<'_>) -> (BTreeMap<String, DtypeStats>, u64) {
    let mut stats: BTreeMap<String, DtypeStats> = BTreeMap::new();
    let mut counted = HashSet::new();
    let mut total = 0u64;
    for t in model.subgraphs.iter().flat_map(|sg| &sg.tensors) {
        let s = stats.entry(dtype_name(t.dtype).to_owned()).or_default();
        s.tensors += 1;
        let len = model.buffer_data(t.buffer).len() as u64;
        if len > 0 {
            s.constant_tensors += 1;
            if counted.insert(t.buffer) {
                s.constant_bytes += len;
                total += len;
            }
        }
    }
    (stats, total)
}

fn metadata_bytes(model: &Model<'_>) -> u64 {
    let bufs: HashSet<u32> = model.metadata.iter().map(|m| m.buffer).collect();
    bufs.iter()
        .map(|&b| model.buffer_data(b).len() as u64)
        .sum()
}

fn sparse_tensors(model: &Model<'_>) -> Vec<SparseTensorInfo> {
    let mut out = Vec::new();
    for (si, sg) in model.subgraphs.iter().enumerate() {
        for (ti, t) in sg.tensors.iter().enumerate() {
            if t.sparsity.is_some() {
                out.push(SparseTensorInfo {
                    subgraph: si,
                    tensor_index: ti,
                    name: t.display_name().to_owned(),
                    dtype: dtype_name(t.dtype),
                    shape: t.dims().to_vec(),
                });
            }
        }
    }
    out
}
