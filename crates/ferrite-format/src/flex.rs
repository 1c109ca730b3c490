//! Flex (Select TF ops) custom options: a flexbuffer vector holding the
//! TensorFlow op name and its serialised NodeDef.
//!
//! Only that one shape is decoded, by a small checked reader: the NodeDef
//! bytes are arbitrary binary (often not UTF-8) and the options come from
//! untrusted files, so every offset is bounds-checked here.

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

const TYPE_STRING: u8 = 5;
const TYPE_VECTOR: u8 = 10;
const TYPE_BLOB: u8 = 25;

pub(crate) fn read_uint(buf: &[u8], at: usize, width: usize) -> Option<usize> {
    let bytes = buf.get(at..at.checked_add(width)?)?;
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        v |= (b as u64) << (8 * i);
    }
    usize::try_from(v).ok()
}

/// Follows the backward offset stored at `at`.
pub(crate) fn deref(buf: &[u8], at: usize, width: usize) -> Option<usize> {
    at.checked_sub(read_uint(buf, at, width)?)
}

pub(crate) fn width_of(packed: u8) -> usize {
    1 << (packed & 3)
}

/// Bytes of the string or blob element `i` of the vector at `vec`.
fn element_bytes(buf: &[u8], vec: usize, len: usize, width: usize, i: usize) -> Option<&[u8]> {
    let types = vec.checked_add(len.checked_mul(width)?)?;
    let packed = *buf.get(types.checked_add(i)?)?;
    if packed >> 2 != TYPE_STRING && packed >> 2 != TYPE_BLOB {
        return None;
    }
    let addr = deref(buf, vec.checked_add(i.checked_mul(width)?)?, width)?;
    let len_width = width_of(packed);
    let n = read_uint(buf, addr.checked_sub(len_width)?, len_width)?;
    buf.get(addr..addr.checked_add(n)?)
}

/// Decodes Flex custom options; `None` when they are not the expected
/// [string, bytes] flexbuffer vector.
pub fn decode(custom_options: &[u8]) -> Option<FlexOp<'_>> {
    let buf = custom_options;
    let n = buf.len();
    let root_width = *buf.last()? as usize;
    let packed = *buf.get(n.checked_sub(2)?)?;
    if !matches!(root_width, 1 | 2 | 4 | 8) || packed >> 2 != TYPE_VECTOR {
        return None;
    }
    let root = n.checked_sub(2 + root_width)?;
    let vec = deref(buf, root, root_width)?;
    let width = width_of(packed);
    let len = read_uint(buf, vec.checked_sub(width)?, width)?;
    if len < 2 {
        return None;
    }
    let name = element_bytes(buf, vec, len, width, 0)?;
    let node_def = element_bytes(buf, vec, len, width, 1)?;
    Some(FlexOp {
        tf_op: String::from_utf8_lossy(name).into_owned(),
        node_def,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flexbuffer [ "Op", "\xff\x01" ] laid out by hand: strings, then the
    /// vector (length, two offsets, two type bytes), then the root.
    fn sample() -> Vec<u8> {
        let mut b = vec![2, b'O', b'p', 0, 2, 0xff, 0x01, 0];
        // vector: length 2 at 8, elements at 9 and 10, types at 11, 12
        b.push(2);
        let e0 = 9usize;
        b.push((e0 - 1) as u8); // element 0 -> string at 1
        b.push((e0 + 1 - 5) as u8); // element 1 -> string at 5
        b.push(TYPE_STRING << 2);
        b.push(TYPE_STRING << 2);
        // root: offset to the vector at 9, packed type, root width
        let root = b.len();
        b.push((root - 9) as u8);
        b.push(TYPE_VECTOR << 2);
        b.push(1);
        b
    }

    #[test]
    fn decodes_name_and_binary_node_def() {
        let b = sample();
        let op = decode(&b).unwrap();
        assert_eq!(op.tf_op, "Op");
        assert_eq!(op.node_def, &[0xff, 0x01]);
        for cut in 0..b.len() {
            let _ = decode(&b[cut..]);
            let _ = decode(&b[..cut]);
        }
    }
}
