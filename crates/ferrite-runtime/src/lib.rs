//! Execution: plans subgraphs (kernels, shapes, constant folding, arena),
//! runs them, and keeps state across invokes.

mod arena;
mod control;
mod error;
mod fuse;
mod interpreter;
mod plan;
mod shapes;
mod state_ops;
#[cfg(test)]
mod tests;

pub use control::{native_custom_ops, native_tf_ops, INTERPRETER_OPS, NATIVE_FLEX_OPS};
pub use error::{ErrorKind, Location, Result, RuntimeError};
pub use ferrite_kernels::registry::OpRegistry;
pub use interpreter::{Interpreter, OpProfile, Options, TensorView};
pub use shapes::{infer_shapes, infer_shapes_with};
