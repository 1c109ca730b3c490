//! Flex (Select TF ops) custom options: a flexbuffer vector holding the
//! TensorFlow op name and its serialised NodeDef.

/// Prefix of custom codes that name TensorFlow ops run by the Flex delegate.
pub const FLEX_PREFIX: &str = "Flex";

/// True for custom codes of Flex ops.
pub fn is_flex(custom_code: &str) -> bool {
    custom_code.starts_with(FLEX_PREFIX)
}

/// The TensorFlow op and NodeDef decoded from a Flex op's custom options.
#[derive(Debug, Clone, PartialEq)]
pub struct FlexOp<'a> {
    /// The TensorFlow op name, e.g. `HashTableV2`.
    pub tf_op: String,
    /// The serialised `tensorflow.NodeDef` protobuf.
    pub node_def: &'a [u8],
}

/// Decodes Flex custom options; `None` when they are not the expected
/// [string, bytes] flexbuffer vector.
pub fn decode(custom_options: &[u8]) -> Option<FlexOp<'_>> {
    let root = flexbuffers::Reader::get_root(custom_options).ok()?;
    let vec = root.get_vector().ok()?;
    if vec.len() < 2 {
        return None;
    }
    let name = vec.index(0).ok()?.get_str().ok()?.to_owned();
    let def = vec.index(1).ok()?;
    let node_def = def.get_str().map(str::as_bytes).or_else(|_| def.get_blob().map(|b| b.0)).ok()?;
    Some(FlexOp {
        tf_op: name,
        node_def,
    })
}
