//! The typed view of a model that execution and tooling share, and
//! analyses over it.

mod densify;
pub mod ir;
pub mod summary;

pub use ir::{ConstData, Graph, Node, OpKind, OwnedBytes, Signature, Subgraph, TensorInfo};

/// Errors building the typed graph from a verified model.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("subgraph {subgraph}, tensor '{tensor}': cannot densify sparse constant: {reason}")]
    Sparse {
        subgraph: usize,
        tensor: String,
        reason: String,
    },
}
