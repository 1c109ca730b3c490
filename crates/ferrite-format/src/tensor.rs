//! Tensor, quantization and sparsity tables.

use crate::builder::{Node, TableNode};
use crate::error::{FormatError, Result};
use crate::fb::Table;

/// The TensorType enum of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TensorType {
    Float32,
    Float16,
    Int32,
    Uint8,
    Int64,
    String,
    Bool,
    Int16,
    Complex64,
    Int8,
    Float64,
    Complex128,
    Uint64,
    Resource,
    Variant,
    Uint32,
    Uint16,
    Int4,
    Bfloat16,
}

const TENSOR_TYPES: [(TensorType, &str); 19] = [
    (TensorType::Float32, "FLOAT32"),
    (TensorType::Float16, "FLOAT16"),
    (TensorType::Int32, "INT32"),
    (TensorType::Uint8, "UINT8"),
    (TensorType::Int64, "INT64"),
    (TensorType::String, "STRING"),
    (TensorType::Bool, "BOOL"),
    (TensorType::Int16, "INT16"),
    (TensorType::Complex64, "COMPLEX64"),
    (TensorType::Int8, "INT8"),
    (TensorType::Float64, "FLOAT64"),
    (TensorType::Complex128, "COMPLEX128"),
    (TensorType::Uint64, "UINT64"),
    (TensorType::Resource, "RESOURCE"),
    (TensorType::Variant, "VARIANT"),
    (TensorType::Uint32, "UINT32"),
    (TensorType::Uint16, "UINT16"),
    (TensorType::Int4, "INT4"),
    (TensorType::Bfloat16, "BFLOAT16"),
];

impl TensorType {
    pub fn from_code(code: i8) -> Option<Self> {
        TENSOR_TYPES.get(usize::try_from(code).ok()?).map(|t| t.0)
    }

    pub fn code(self) -> i8 {
        TENSOR_TYPES.iter().position(|t| t.0 == self).unwrap_or(0) as i8
    }

    /// The schema's spelling, e.g. `FLOAT32`.
    pub fn name(self) -> &'static str {
        TENSOR_TYPES[self.code() as usize].1
    }

    /// Bytes per element for fixed-size types. `None` for STRING, RESOURCE,
    /// VARIANT and INT4 (two values per byte).
    pub fn element_size(self) -> Option<usize> {
        use TensorType::*;
        Some(match self {
            Bool | Uint8 | Int8 => 1,
            Float16 | Int16 | Uint16 | Bfloat16 => 2,
            Float32 | Int32 | Uint32 => 4,
            Float64 | Int64 | Uint64 | Complex64 => 8,
            Complex128 => 16,
            String | Resource | Variant | Int4 => return None,
        })
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn read_type(t: &Table<'_, '_>, id: u16) -> Result<TensorType> {
    let code: i8 = t.scalar(id, 0)?;
    TensorType::from_code(code)
        .ok_or_else(|| FormatError::invalid("type", format!("unknown tensor type {code}")))
}

/// QuantizationParameters: affine per-tensor or per-axis parameters, or an
/// opaque custom scheme.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    pub min: Option<Vec<f32>>,
    pub max: Option<Vec<f32>>,
    pub scale: Option<Vec<f32>>,
    pub zero_point: Option<Vec<i64>>,
    /// The `custom` bytes of a CustomQuantization detail, when present.
    pub custom: Option<Vec<u8>>,
    pub quantized_dimension: i32,
}

impl Quantization {
    fn read(t: &Table<'_, '_>) -> Result<Self> {
        let details_type: u8 = t.scalar(4, 0)?;
        let custom = match (details_type, t.table(5)?) {
            (1, Some(d)) => d.scalars::<u8>(0)?,
            _ => None,
        };
        Ok(Quantization {
            min: t.scalars(0)?,
            max: t.scalars(1)?,
            scale: t.scalars(2)?,
            zero_point: t.scalars(3)?,
            custom,
            quantized_dimension: t.scalar(6, 0)?,
        })
    }

    fn write(&self) -> TableNode<'static> {
        let mut t = TableNode::new();
        t.scalars(0, self.min.as_deref());
        t.scalars(1, self.max.as_deref());
        t.scalars(2, self.scale.as_deref());
        t.scalars(3, self.zero_point.as_deref());
        if let Some(c) = &self.custom {
            let mut d = TableNode::new();
            // force_align: 16 on CustomQuantization.custom
            d.child(
                0,
                Node::Vector {
                    data: c.clone().into(),
                    elem: 1,
                    align: 16,
                },
            );
            t.scalar_always(4, 1u8);
            t.child(5, Node::Table(d));
        }
        t.scalar(6, self.quantized_dimension, 0);
        t
    }

    /// True when scales are given per slice along `quantized_dimension`.
    pub fn is_per_axis(&self) -> bool {
        self.scale.as_ref().is_some_and(|s| s.len() > 1)
    }

    /// True when the affine parameters are present.
    pub fn is_affine(&self) -> bool {
        self.scale.as_ref().is_some_and(|s| !s.is_empty())
    }
}

/// One index vector of a sparse dimension (the SparseIndexVector union).
#[derive(Debug, Clone, PartialEq)]
pub enum SparseIndices {
    Int32(Vec<i32>),
    Uint16(Vec<u16>),
    Uint8(Vec<u8>),
}

impl SparseIndices {
    fn read(tag: u8, t: Option<Table<'_, '_>>) -> Result<Option<Self>> {
        let Some(t) = t else { return Ok(None) };
        Ok(match tag {
            1 => Some(SparseIndices::Int32(t.scalars(0)?.unwrap_or_default())),
            2 => Some(SparseIndices::Uint16(t.scalars(0)?.unwrap_or_default())),
            3 => Some(SparseIndices::Uint8(t.scalars(0)?.unwrap_or_default())),
            0 => None,
            other => {
                return Err(FormatError::invalid(
                    "",
                    format!("unknown SparseIndexVector type {other}"),
                ))
            }
        })
    }

    fn write(&self, t: &mut TableNode<'static>, type_id: u16, value_id: u16) {
        let mut v = TableNode::new();
        let tag = match self {
            SparseIndices::Int32(x) => {
                v.scalars(0, Some(x));
                1u8
            }
            SparseIndices::Uint16(x) => {
                v.scalars(0, Some(x));
                2
            }
            SparseIndices::Uint8(x) => {
                v.scalars(0, Some(x));
                3
            }
        };
        t.scalar_always(type_id, tag);
        t.child(value_id, Node::Table(v));
    }

    pub fn len(&self) -> usize {
        match self {
            SparseIndices::Int32(v) => v.len(),
            SparseIndices::Uint16(v) => v.len(),
            SparseIndices::Uint8(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            SparseIndices::Int32(v) => v.get(i).map(|&x| x as i64),
            SparseIndices::Uint16(v) => v.get(i).map(|&x| x as i64),
            SparseIndices::Uint8(v) => v.get(i).map(|&x| x as i64),
        }
    }
}

/// DimensionMetadata: `format` 0 is DENSE, 1 is SPARSE_CSR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DimensionMetadata {
    pub format: i8,
    pub dense_size: i32,
    pub array_segments: Option<SparseIndices>,
    pub array_indices: Option<SparseIndices>,
}

/// SparsityParameters (a modified TACO encoding).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparsity {
    pub traversal_order: Option<Vec<i32>>,
    pub block_map: Option<Vec<i32>>,
    pub dim_metadata: Vec<DimensionMetadata>,
}

impl Sparsity {
    fn read(t: &Table<'_, '_>) -> Result<Self> {
        Ok(Sparsity {
            traversal_order: t.scalars(0)?,
            block_map: t.scalars(1)?,
            dim_metadata: t.tables(2, "dim_metadata", |d| {
                Ok(DimensionMetadata {
                    format: d.scalar(0, 0)?,
                    dense_size: d.scalar(1, 0)?,
                    array_segments: SparseIndices::read(d.scalar(2, 0)?, d.table(3)?)?,
                    array_indices: SparseIndices::read(d.scalar(4, 0)?, d.table(5)?)?,
                })
            })?,
        })
    }

    fn write(&self) -> TableNode<'static> {
        let mut t = TableNode::new();
        t.scalars(0, self.traversal_order.as_deref());
        t.scalars(1, self.block_map.as_deref());
        let dims = self
            .dim_metadata
            .iter()
            .map(|d| {
                let mut n = TableNode::new();
                n.scalar(0, d.format, 0);
                n.scalar(1, d.dense_size, 0);
                if let Some(s) = &d.array_segments {
                    s.write(&mut n, 2, 3);
                }
                if let Some(s) = &d.array_indices {
                    s.write(&mut n, 4, 5);
                }
                n
            })
            .collect();
        t.tables(2, dims);
        t
    }
}

/// VariantSubType: the element type of a VARIANT tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantSubType {
    pub shape: Option<Vec<i32>>,
    pub dtype: TensorType,
    pub has_rank: bool,
}

/// Tensor: one tensor of a subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Option<Vec<i32>>,
    pub dtype: TensorType,
    /// Index into `Model::buffers`; 0 is the empty sentinel buffer.
    pub buffer: u32,
    pub name: Option<String>,
    pub quantization: Option<Quantization>,
    pub is_variable: bool,
    pub sparsity: Option<Sparsity>,
    /// `shape` with -1 for dimensions unknown until the caller resizes.
    pub shape_signature: Option<Vec<i32>>,
    pub has_rank: bool,
    pub variant_tensors: Vec<VariantSubType>,
}

impl Tensor {
    pub(crate) fn read(t: &Table<'_, '_>) -> Result<Self> {
        Ok(Tensor {
            shape: t.scalars(0)?,
            dtype: read_type(t, 1)?,
            buffer: t.scalar(2, 0)?,
            name: t.string(3)?,
            quantization: t
                .table(4)?
                .map(|q| Quantization::read(&q))
                .transpose()
                .map_err(|e| e.within("quantization"))?,
            is_variable: t.scalar(5, false)?,
            sparsity: t
                .table(6)?
                .map(|s| Sparsity::read(&s))
                .transpose()
                .map_err(|e| e.within("sparsity"))?,
            shape_signature: t.scalars(7)?,
            has_rank: t.scalar(8, false)?,
            variant_tensors: t.tables(9, "variant_tensors", |v| {
                Ok(VariantSubType {
                    shape: v.scalars(0)?,
                    dtype: read_type(&v, 1)?,
                    has_rank: v.scalar(2, false)?,
                })
            })?,
        })
    }

    pub(crate) fn write(&self) -> TableNode<'static> {
        let mut t = TableNode::new();
        t.scalars(0, self.shape.as_deref());
        t.scalar(1, self.dtype.code(), 0);
        t.scalar(2, self.buffer, 0);
        t.string(3, self.name.as_deref());
        if let Some(q) = &self.quantization {
            t.child(4, Node::Table(q.write()));
        }
        t.scalar(5, self.is_variable, false);
        if let Some(s) = &self.sparsity {
            t.child(6, Node::Table(s.write()));
        }
        t.scalars(7, self.shape_signature.as_deref());
        t.scalar(8, self.has_rank, false);
        if !self.variant_tensors.is_empty() {
            let v = self
                .variant_tensors
                .iter()
                .map(|v| {
                    let mut n = TableNode::new();
                    n.scalars(0, v.shape.as_deref());
                    n.scalar(1, v.dtype.code(), 0);
                    n.scalar(2, v.has_rank, false);
                    n
                })
                .collect();
            t.tables(9, v);
        }
        t
    }

    /// The tensor's shape (empty for scalars and absent shapes).
    pub fn dims(&self) -> &[i32] {
        self.shape.as_deref().unwrap_or(&[])
    }

    /// The shape signature, falling back to the shape when absent.
    pub fn signature_dims(&self) -> &[i32] {
        self.shape_signature.as_deref().unwrap_or(self.dims())
    }

    /// True when some dimension is unknown until runtime.
    pub fn is_dynamic(&self) -> bool {
        self.signature_dims().iter().any(|&d| d < 0)
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("<unnamed>")
    }
}
