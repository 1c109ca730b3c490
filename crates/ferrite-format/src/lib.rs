//! The TFLite flatbuffer format: a verified, zero-copy view of a model file
//! and a writer that lowers a model back to bytes.
//!
//! Loading never trusts the file: every offset is bounds-checked while
//! decoding, then [`verify`] checks the model's internal consistency. A model
//! returned by [`Model::parse`] has all indices in range and all constant
//! buffers sized for their tensors.

pub mod build;
mod builder;
mod error;
mod fb;
mod field;
pub mod flex;
pub mod flexmap;
mod model;
pub mod nodedef;
mod opnames;
pub mod options;
mod source;
mod tensor;
pub mod verify;

pub use error::{FormatError, Result};
pub use fb::Scalar;
pub use model::{
    builtin_code, builtin_name, Buffer, Metadata, Model, Operator, OperatorCode, SignatureDef,
    SubGraph, TensorMap, CUSTOM_CODE, FILE_IDENTIFIER,
};
pub use options::{BuiltinOptions, BuiltinOptions2};
pub use source::ModelBytes;
pub use tensor::{
    DimensionMetadata, Quantization, SparseIndices, Sparsity, Tensor, TensorType, VariantSubType,
};
pub use verify::Limits;

#[cfg(test)]
mod tests;
