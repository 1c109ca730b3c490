//! Model, subgraph, operator, buffer and signature tables, with their
//! decoding and encoding. Field ids follow the schema order.

use std::borrow::Cow;

use crate::builder::{self, Node, TableNode};
use crate::error::{FormatError, Result};
use crate::fb::{Reader, Table};
use crate::opnames::BUILTIN_OPERATOR_NAMES;
use crate::options::{BuiltinOptions, BuiltinOptions2};
use crate::tensor::Tensor;
use crate::verify::{self, Limits};

/// The builtin code of CUSTOM operators.
pub const CUSTOM_CODE: i32 = 32;
/// Codes at or above this are only stored in `builtin_code`.
const PLACEHOLDER_FOR_GREATER_OP_CODES: i32 = 127;

/// OperatorCode: which operator an `Operator` runs, and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorCode {
    pub deprecated_builtin_code: i8,
    pub custom_code: Option<String>,
    pub version: i32,
    pub builtin_code: i32,
}

impl OperatorCode {
    /// The effective builtin code: old files only set the deprecated byte,
    /// new codes only fit the int field, so the larger of the two wins.
    pub fn code(&self) -> i32 {
        self.builtin_code.max(self.deprecated_builtin_code as i32)
    }

    pub fn is_custom(&self) -> bool {
        self.code() == CUSTOM_CODE
    }

    /// The schema name (`CONV_2D`), or `CUSTOM:<custom_code>` for custom ops.
    pub fn display_name(&self) -> String {
        if self.is_custom() {
            format!("CUSTOM:{}", self.custom_code.as_deref().unwrap_or(""))
        } else {
            builtin_name(self.code())
                .map_or_else(|| format!("BUILTIN_{}", self.code()), str::to_owned)
        }
    }

    /// An operator code for a builtin, filling both code fields as converters do.
    pub fn builtin(code: i32, version: i32) -> Self {
        OperatorCode {
            deprecated_builtin_code: code.min(PLACEHOLDER_FOR_GREATER_OP_CODES) as i8,
            custom_code: None,
            version,
            builtin_code: code,
        }
    }
}

/// The schema name of builtin operator `code`.
pub fn builtin_name(code: i32) -> Option<&'static str> {
    BUILTIN_OPERATOR_NAMES
        .get(usize::try_from(code).ok()?)
        .copied()
}

/// The builtin code named `name` (schema spelling).
pub fn builtin_code(name: &str) -> Option<i32> {
    BUILTIN_OPERATOR_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|c| c as i32)
}

/// Operator: one node of a subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator<'a> {
    pub opcode_index: u32,
    /// Tensor indices; -1 marks an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub builtin_options: BuiltinOptions,
    /// Custom options, resolved from outside the flatbuffer when the file
    /// stores them there (`large_custom_options_offset`).
    pub custom_options: Option<Cow<'a, [u8]>>,
    pub custom_options_format: i8,
    pub mutating_variable_inputs: Option<Vec<bool>>,
    pub intermediates: Option<Vec<i32>>,
    pub builtin_options_2: BuiltinOptions2,
    pub debug_metadata_index: i32,
}

/// SubGraph: tensors and operators in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct SubGraph<'a> {
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<Operator<'a>>,
    pub name: Option<String>,
    pub debug_metadata_index: i32,
}

/// Buffer: raw constant data, borrowed from the file when possible.
#[derive(Debug, Clone)]
pub struct Buffer<'a> {
    pub data: Cow<'a, [u8]>,
    /// True when the file stored the data after the flatbuffer
    /// (`offset`/`size`), as models over 2 GiB do.
    pub external: bool,
}

/// Buffers compare by content: where the file kept them is layout, not meaning.
impl PartialEq for Buffer<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

/// Metadata: a named entry pointing at a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: Option<String>,
    pub buffer: u32,
}

/// TensorMap: a signature's alias for a tensor of its subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMap {
    pub name: Option<String>,
    pub tensor_index: u32,
}

/// SignatureDef: a named entry point with named inputs and outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureDef {
    pub inputs: Vec<TensorMap>,
    pub outputs: Vec<TensorMap>,
    pub signature_key: Option<String>,
    pub subgraph_index: u32,
}

/// A decoded and verified model. Constant data borrows from the bytes it was
/// parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Model<'a> {
    pub version: u32,
    pub operator_codes: Vec<OperatorCode>,
    pub subgraphs: Vec<SubGraph<'a>>,
    pub description: Option<String>,
    pub buffers: Vec<Buffer<'a>>,
    pub metadata_buffer: Option<Vec<i32>>,
    pub metadata: Vec<Metadata>,
    pub signature_defs: Vec<SignatureDef>,
}

/// The file identifier of TFLite flatbuffers.
pub const FILE_IDENTIFIER: &[u8; 4] = b"TFL3";

/// Resolves data stored after the flatbuffer; `offset` counts from the file
/// start and is only meaningful above 1.
fn external<'a>(file: &'a [u8], offset: u64, size: u64, what: &str) -> Result<Option<&'a [u8]>> {
    if offset <= 1 {
        return Ok(None);
    }
    let range = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(size).ok())
        .and_then(|(o, s)| Some(o..o.checked_add(s)?))
        .filter(|r| r.end <= file.len())
        .ok_or_else(|| {
            FormatError::invalid(
                what,
                format!(
                    "external data at offset {offset} size {size} lies outside the {}-byte file",
                    file.len()
                ),
            )
        })?;
    Ok(Some(&file[range]))
}

fn read_operator<'a>(t: Table<'_, 'a>, file: &'a [u8]) -> Result<Operator<'a>> {
    let large = external(
        file,
        t.scalar(9, 0u64)?,
        t.scalar(10, 0u64)?,
        "custom_options",
    )?;
    let custom_options = match large {
        Some(d) => Some(Cow::Borrowed(d)),
        None => t.bytes(5)?.map(Cow::Borrowed),
    };
    Ok(Operator {
        opcode_index: t.scalar(0, 0)?,
        inputs: t.scalars(1)?.unwrap_or_default(),
        outputs: t.scalars(2)?.unwrap_or_default(),
        builtin_options: BuiltinOptions::read(t.scalar(3, 0)?, t.table(4)?)?,
        custom_options,
        custom_options_format: t.scalar(6, 0)?,
        mutating_variable_inputs: t.scalars(7)?,
        intermediates: t.scalars(8)?,
        builtin_options_2: BuiltinOptions2::read(t.scalar(11, 0)?, t.table(12)?)?,
        debug_metadata_index: t.scalar(13, -1)?,
    })
}

fn read_subgraph<'a>(t: Table<'_, 'a>, file: &'a [u8]) -> Result<SubGraph<'a>> {
    Ok(SubGraph {
        tensors: t.tables(0, "tensors", |x| Tensor::read(&x))?,
        inputs: t.scalars(1)?.unwrap_or_default(),
        outputs: t.scalars(2)?.unwrap_or_default(),
        operators: t.tables(3, "operators", |x| read_operator(x, file))?,
        name: t.string(4)?,
        debug_metadata_index: t.scalar(5, -1)?,
    })
}

fn read_tensor_maps(t: &Table<'_, '_>, id: u16, name: &str) -> Result<Vec<TensorMap>> {
    t.tables(id, name, |m| {
        Ok(TensorMap {
            name: m.string(0)?,
            tensor_index: m.scalar(1, 0)?,
        })
    })
}

impl<'a> Model<'a> {
    /// Decodes and verifies `bytes` with the default limits.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_with_limits(bytes, &Limits::default())
    }

    /// Decodes `bytes` (structural verification happens as each field is
    /// read), then checks the model's internal consistency.
    pub fn parse_with_limits(bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        let model = Self::decode(bytes, limits)?;
        verify::check(&model, limits)?;
        Ok(model)
    }

    fn decode(bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(FormatError::LimitExceeded {
                path: "file".into(),
                what: "file size",
                actual: bytes.len() as u64,
                limit: limits.max_file_bytes,
            });
        }
        if bytes.len() < 8 {
            return Err(FormatError::Malformed {
                path: String::new(),
                offset: 0,
                reason: format!("{} bytes is too short for a flatbuffer", bytes.len()),
            });
        }
        let reader = Reader::new(bytes);
        let root = reader.deref(0)?;
        let t = reader.table(root)?;
        let mut buffers = t.tables(4, "buffers", |b| {
            let data = match external(bytes, b.scalar(1, 0u64)?, b.scalar(2, 0u64)?, "data")? {
                Some(d) => Buffer {
                    data: Cow::Borrowed(d),
                    external: true,
                },
                None => Buffer {
                    data: Cow::Borrowed(b.bytes(0)?.unwrap_or(&[])),
                    external: false,
                },
            };
            Ok(data)
        })?;
        buffers.shrink_to_fit();
        Ok(Model {
            version: t.scalar(0, 0)?,
            operator_codes: t.tables(1, "operator_codes", |c| {
                Ok(OperatorCode {
                    deprecated_builtin_code: c.scalar(0, 0)?,
                    custom_code: c.string(1)?,
                    version: c.scalar(2, 1)?,
                    builtin_code: c.scalar(3, 0)?,
                })
            })?,
            subgraphs: t.tables(2, "subgraphs", |s| read_subgraph(s, bytes))?,
            description: t.string(3)?,
            buffers,
            metadata_buffer: t.scalars(5)?,
            metadata: t.tables(6, "metadata", |m| {
                Ok(Metadata {
                    name: m.string(0)?,
                    buffer: m.scalar(1, 0)?,
                })
            })?,
            signature_defs: t.tables(7, "signature_defs", |s| {
                Ok(SignatureDef {
                    inputs: read_tensor_maps(&s, 0, "inputs")?,
                    outputs: read_tensor_maps(&s, 1, "outputs")?,
                    signature_key: s.string(2)?,
                    subgraph_index: s.scalar(4, 0)?,
                })
            })?,
        })
    }

    /// Encodes the model as a TFLite flatbuffer. Buffers are written inline,
    /// 16-byte aligned. The output depends only on the model, so writing a
    /// re-read model gives the same bytes.
    pub fn write(&self) -> Result<Vec<u8>> {
        let mut root = TableNode::new();
        root.scalar(0, self.version, 0);
        let codes = self
            .operator_codes
            .iter()
            .map(|c| {
                let mut n = TableNode::new();
                n.scalar(0, c.deprecated_builtin_code, 0);
                n.string(1, c.custom_code.as_deref());
                n.scalar(2, c.version, 1);
                n.scalar(3, c.builtin_code, 0);
                n
            })
            .collect();
        root.tables(1, codes);
        let mut subgraphs = Vec::with_capacity(self.subgraphs.len());
        for (i, s) in self.subgraphs.iter().enumerate() {
            subgraphs.push(write_subgraph(s).map_err(|e| e.within(&format!("subgraphs[{i}]")))?);
        }
        root.tables(2, subgraphs);
        root.string(3, self.description.as_deref());
        let buffers = self
            .buffers
            .iter()
            .map(|b| {
                let mut n = TableNode::new();
                if !b.data.is_empty() {
                    n.child(
                        0,
                        Node::Vector {
                            data: Cow::Borrowed(&b.data[..]),
                            elem: 1,
                            align: 16,
                        },
                    );
                }
                n
            })
            .collect();
        root.tables(4, buffers);
        root.scalars(5, self.metadata_buffer.as_deref());
        if !self.metadata.is_empty() {
            let m = self
                .metadata
                .iter()
                .map(|m| {
                    let mut n = TableNode::new();
                    n.string(0, m.name.as_deref());
                    n.scalar(1, m.buffer, 0);
                    n
                })
                .collect();
            root.tables(6, m);
        }
        if !self.signature_defs.is_empty() {
            let sigs = self
                .signature_defs
                .iter()
                .map(|s| {
                    let mut n = TableNode::new();
                    n.tables(0, write_tensor_maps(&s.inputs));
                    n.tables(1, write_tensor_maps(&s.outputs));
                    n.string(2, s.signature_key.as_deref());
                    n.scalar(4, s.subgraph_index, 0);
                    n
                })
                .collect();
            root.tables(7, sigs);
        }
        builder::finish(root, FILE_IDENTIFIER)
    }

    /// The data of buffer `index`, empty when out of range or absent.
    pub fn buffer_data(&self, index: u32) -> &[u8] {
        self.buffers
            .get(index as usize)
            .map_or(&[], |b| &b.data[..])
    }

    /// The metadata entry named `name`, with its data.
    pub fn metadata_data(&self, name: &str) -> Option<&[u8]> {
        self.metadata
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .map(|m| self.buffer_data(m.buffer))
    }
}

fn write_tensor_maps(maps: &[TensorMap]) -> Vec<TableNode<'static>> {
    maps.iter()
        .map(|m| {
            let mut n = TableNode::new();
            n.string(0, m.name.as_deref());
            n.scalar(1, m.tensor_index, 0);
            n
        })
        .collect()
}

fn write_subgraph<'a>(s: &'a SubGraph<'a>) -> Result<TableNode<'a>> {
    let mut n = TableNode::new();
    n.tables(0, s.tensors.iter().map(Tensor::write).collect());
    n.scalars(1, Some(&s.inputs));
    n.scalars(2, Some(&s.outputs));
    let mut ops = Vec::with_capacity(s.operators.len());
    for (i, op) in s.operators.iter().enumerate() {
        ops.push(write_operator(op).map_err(|e| e.within(&format!("operators[{i}]")))?);
    }
    n.tables(3, ops);
    n.string(4, s.name.as_deref());
    n.scalar(5, s.debug_metadata_index, -1);
    Ok(n)
}

fn write_operator<'a>(op: &'a Operator<'a>) -> Result<TableNode<'a>> {
    let mut n = TableNode::new();
    n.scalar(0, op.opcode_index, 0);
    n.scalars(1, Some(&op.inputs));
    n.scalars(2, Some(&op.outputs));
    op.builtin_options.write(&mut n, 3, 4)?;
    if let Some(c) = &op.custom_options {
        n.child(
            5,
            Node::Vector {
                data: Cow::Borrowed(&c[..]),
                elem: 1,
                align: 1,
            },
        );
    }
    n.scalar(6, op.custom_options_format, 0);
    n.scalars(7, op.mutating_variable_inputs.as_deref());
    n.scalars(8, op.intermediates.as_deref());
    op.builtin_options_2.write(&mut n, 11, 12)?;
    n.scalar(13, op.debug_metadata_index, -1);
    Ok(n)
}
