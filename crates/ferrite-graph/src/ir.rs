//! The typed graph: what execution needs from a verified model, owning no
//! lifetimes so interpreters can keep it. Constant data stays in the mapped
//! file and is referenced by range.

use std::ops::Range;
use std::sync::Arc;

use ferrite_format::{
    BuiltinOptions, BuiltinOptions2, Model, ModelBytes, Quantization, TensorType,
};

use crate::densify::densify;
use crate::GraphError;

/// Constant bytes: a range of the model file, or data the graph made
/// (densified or realigned), 8-byte aligned either way.
#[derive(Clone)]
pub enum ConstData {
    Mapped(Range<usize>),
    Owned(Arc<OwnedBytes>),
}

/// Owned constant bytes, 8-byte aligned so kernels can view them as any type.
pub struct OwnedBytes {
    words: Vec<u64>,
    len: usize,
}

impl OwnedBytes {
    pub fn new(data: &[u8]) -> Self {
        let mut words = vec![0u64; data.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..data.len()].copy_from_slice(data);
        OwnedBytes {
            words,
            len: data.len(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }
}

impl std::fmt::Debug for ConstData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstData::Mapped(r) => write!(f, "Mapped({r:?})"),
            ConstData::Owned(b) => write!(f, "Owned({} bytes)", b.len),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: TensorType,
    /// The declared shape (1 for dimensions unknown until resize).
    pub shape: Vec<usize>,
    /// The shape signature: -1 for unknown dimensions.
    pub signature: Vec<i64>,
    pub quantization: Option<Quantization>,
    pub data: Option<ConstData>,
    /// A persistent tensor (old-style RNN/LSTM state), zero-initialised.
    pub is_variable: bool,
    /// Sparsity of the original constant; `data` is already dense.
    pub was_sparse: bool,
}

/// What an operator runs.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    Builtin { code: i32, name: &'static str },
    Custom(String),
}

impl OpKind {
    /// `CONV_2D`, or `CUSTOM:<code>`.
    pub fn display_name(&self) -> String {
        match self {
            OpKind::Builtin { name, .. } => (*name).to_string(),
            OpKind::Custom(c) => format!("CUSTOM:{c}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: OpKind,
    pub version: i32,
    /// `None` for omitted optional inputs.
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    pub intermediates: Vec<usize>,
    pub options: BuiltinOptions,
    pub options2: BuiltinOptions2,
    pub custom_options: Option<ConstData>,
}

#[derive(Debug, Clone)]
pub struct Subgraph {
    pub name: String,
    pub tensors: Vec<TensorInfo>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    pub nodes: Vec<Node>,
}

/// A named entry point: subgraph plus named input and output tensors.
#[derive(Debug, Clone)]
pub struct Signature {
    pub key: String,
    pub subgraph: usize,
    pub inputs: Vec<(String, usize)>,
    pub outputs: Vec<(String, usize)>,
}

pub struct Graph {
    bytes: Arc<ModelBytes>,
    pub subgraphs: Vec<Subgraph>,
    pub signatures: Vec<Signature>,
    pub description: Option<String>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("subgraphs", &self.subgraphs.len())
            .field("signatures", &self.signatures)
            .finish()
    }
}

/// Where `slice` sits inside `base`, if it is borrowed from it.
fn range_in(base: &[u8], slice: &[u8]) -> Option<Range<usize>> {
    let start = (slice.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(slice.len())?;
    (end <= base.len()).then_some(start..end)
}

impl Graph {
    /// Builds the graph of `model`, which must have been parsed from `bytes`.
    pub fn build(model: &Model<'_>, bytes: Arc<ModelBytes>) -> Result<Self, GraphError> {
        let base: &[u8] = &bytes;
        let to_const = |data: &[u8]| -> ConstData {
            match range_in(base, data) {
                Some(r) if r.start % 8 == 0 => ConstData::Mapped(r),
                _ => ConstData::Owned(Arc::new(OwnedBytes::new(data))),
            }
        };
        let mut subgraphs = Vec::with_capacity(model.subgraphs.len());
        for (si, sg) in model.subgraphs.iter().enumerate() {
            let mut tensors = Vec::with_capacity(sg.tensors.len());
            for t in &sg.tensors {
                let raw = model.buffer_data(t.buffer);
                let shape: Vec<usize> = t.dims().iter().map(|&d| d.max(0) as usize).collect();
                let (data, was_sparse) = match (&t.sparsity, raw.is_empty()) {
                    (_, true) => (None, false),
                    (Some(sp), false) => {
                        let dense = densify(raw, t.dtype, &shape, sp).map_err(|reason| {
                            GraphError::Sparse {
                                subgraph: si,
                                tensor: t.display_name().to_string(),
                                reason,
                            }
                        })?;
                        (
                            Some(ConstData::Owned(Arc::new(OwnedBytes::new(&dense)))),
                            true,
                        )
                    }
                    (None, false) => (Some(to_const(raw)), false),
                };
                tensors.push(TensorInfo {
                    name: t.name.clone().unwrap_or_default(),
                    dtype: t.dtype,
                    signature: t.signature_dims().iter().map(|&d| d as i64).collect(),
                    shape,
                    quantization: t.quantization.clone(),
                    data,
                    is_variable: t.is_variable,
                    was_sparse,
                });
            }
            let nodes = sg
                .operators
                .iter()
                .map(|op| {
                    let code = &model.operator_codes[op.opcode_index as usize];
                    let kind = if code.is_custom() {
                        OpKind::Custom(code.custom_code.clone().unwrap_or_default())
                    } else {
                        OpKind::Builtin {
                            code: code.code(),
                            name: ferrite_format::builtin_name(code.code()).unwrap_or("UNKNOWN"),
                        }
                    };
                    Node {
                        kind,
                        version: code.version,
                        inputs: op.inputs.iter().map(|&i| usize::try_from(i).ok()).collect(),
                        outputs: op.outputs.iter().map(|&i| i as usize).collect(),
                        intermediates: op
                            .intermediates
                            .iter()
                            .flatten()
                            .filter_map(|&i| usize::try_from(i).ok())
                            .collect(),
                        options: op.builtin_options.clone(),
                        options2: op.builtin_options_2.clone(),
                        custom_options: op.custom_options.as_deref().map(to_const),
                    }
                })
                .collect();
            subgraphs.push(Subgraph {
                name: sg.name.clone().unwrap_or_default(),
                tensors,
                inputs: sg.inputs.iter().map(|&i| i as usize).collect(),
                outputs: sg.outputs.iter().map(|&i| i as usize).collect(),
                nodes,
            });
        }
        let signatures = model
            .signature_defs
            .iter()
            .map(|s| {
                let names = |maps: &[ferrite_format::TensorMap]| {
                    maps.iter()
                        .map(|m| (m.name.clone().unwrap_or_default(), m.tensor_index as usize))
                        .collect()
                };
                Signature {
                    key: s.signature_key.clone().unwrap_or_default(),
                    subgraph: s.subgraph_index as usize,
                    inputs: names(&s.inputs),
                    outputs: names(&s.outputs),
                }
            })
            .collect();
        Ok(Graph {
            bytes,
            subgraphs,
            signatures,
            description: model.description.clone(),
        })
    }

    /// The bytes of a constant.
    pub fn const_bytes<'g>(&'g self, data: &'g ConstData) -> &'g [u8] {
        match data {
            ConstData::Mapped(r) => &self.bytes[r.clone()],
            ConstData::Owned(b) => b.bytes(),
        }
    }

    /// The data of tensor `t` of subgraph `s`, when constant.
    pub fn tensor_data(&self, s: usize, t: usize) -> Option<&[u8]> {
        let info = self.subgraphs.get(s)?.tensors.get(t)?;
        info.data.as_ref().map(|d| self.const_bytes(d))
    }

    pub fn signature(&self, key: &str) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.key == key)
    }
}
