//! The flexbuffer map that carries the options of a non-Flex custom op
//! (what `allow_custom_ops` conversion and TFLite_Detection_PostProcess
//! write), decoded into named attributes.
//!
//! The bytes come from untrusted files: every offset is bounds-checked and
//! malformed input yields `None`, never a panic. Values of a type ferrite
//! has no attribute for (nested maps, float vectors, null) are skipped.

use crate::flex::{deref, read_uint, width_of};
use crate::nodedef::Attr;

const INT: u8 = 1;
const UINT: u8 = 2;
const FLOAT: u8 = 3;
const STRING: u8 = 5;
const INDIRECT_INT: u8 = 6;
const INDIRECT_UINT: u8 = 7;
const INDIRECT_FLOAT: u8 = 8;
const MAP: u8 = 9;
const VECTOR: u8 = 10;
const VECTOR_INT: u8 = 11;
const VECTOR_UINT: u8 = 12;
const BOOL: u8 = 26;

/// Maps longer than this are refused rather than walked.
const MAX_ENTRIES: usize = 4096;

fn read_int(buf: &[u8], at: usize, width: usize) -> Option<i64> {
    let u = read_uint(buf, at, width)? as u64;
    let shift = 64 - 8 * width as u32;
    Some(((u << shift) as i64) >> shift)
}

fn read_float(buf: &[u8], at: usize, width: usize) -> Option<f32> {
    let bits = read_uint(buf, at, width)? as u64;
    match width {
        4 => Some(f32::from_bits(bits as u32)),
        8 => Some(f64::from_bits(bits) as f32),
        _ => None,
    }
}

/// The zero-terminated key string at `at`.
fn key(buf: &[u8], at: usize) -> Option<String> {
    let rest = buf.get(at..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// The length stored before the vector-like value at `at`.
fn length(buf: &[u8], at: usize, width: usize) -> Option<usize> {
    let n = read_uint(buf, at.checked_sub(width)?, width)?;
    (n <= MAX_ENTRIES.max(buf.len())).then_some(n)
}

/// The value stored in a slot of `width` bytes at `at` with type byte
/// `packed`; `Some(None)` for a well-formed value ferrite has no attr for.
fn value(buf: &[u8], at: usize, width: usize, packed: u8) -> Option<Option<Attr>> {
    let ty = packed >> 2;
    let child = width_of(packed);
    let target = || deref(buf, at, width);
    Some(Some(match ty {
        INT => Attr::Int(read_int(buf, at, width)?),
        UINT => Attr::Int(i64::try_from(read_uint(buf, at, width)?).ok()?),
        BOOL => Attr::Bool(read_uint(buf, at, width)? != 0),
        FLOAT => Attr::Float(read_float(buf, at, width)?),
        INDIRECT_INT => Attr::Int(read_int(buf, target()?, child)?),
        INDIRECT_UINT => Attr::Int(i64::try_from(read_uint(buf, target()?, child)?).ok()?),
        INDIRECT_FLOAT => Attr::Float(read_float(buf, target()?, child)?),
        STRING => {
            let s = target()?;
            let n = length(buf, s, child)?;
            let bytes = buf.get(s..s.checked_add(n)?)?;
            Attr::Str(String::from_utf8_lossy(bytes).into_owned())
        }
        VECTOR_INT | VECTOR_UINT => {
            let v = target()?;
            let n = length(buf, v, child)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let at = v.checked_add(i.checked_mul(child)?)?;
                out.push(if ty == VECTOR_INT {
                    read_int(buf, at, child)?
                } else {
                    i64::try_from(read_uint(buf, at, child)?).ok()?
                });
            }
            Attr::IntList(out)
        }
        VECTOR => {
            // An untyped vector is an int list only if every element is an int.
            let v = target()?;
            let n = length(buf, v, child)?;
            let types = v.checked_add(n.checked_mul(child)?)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let at = v.checked_add(i.checked_mul(child)?)?;
                match value(buf, at, child, *buf.get(types.checked_add(i)?)?)? {
                    Some(Attr::Int(x)) => out.push(x),
                    _ => return Some(None),
                }
            }
            Attr::IntList(out)
        }
        _ => return Some(None),
    }))
}

/// Decodes custom options that are a flexbuffer map into attributes, in key
/// order; `None` when the bytes are not a well-formed flexbuffer map.
pub fn decode(custom_options: &[u8]) -> Option<Vec<(String, Attr)>> {
    let buf = custom_options;
    let n = buf.len();
    let root_width = *buf.last()? as usize;
    let packed = *buf.get(n.checked_sub(2)?)?;
    if !matches!(root_width, 1 | 2 | 4 | 8) || packed >> 2 != MAP {
        return None;
    }
    let map = deref(buf, n.checked_sub(2 + root_width)?, root_width)?;
    let width = width_of(packed);
    let len = length(buf, map, width)?;
    if len > MAX_ENTRIES {
        return None;
    }
    // Before the length: the keys vector's offset and its element width.
    let keys_at = map.checked_sub(3 * width)?;
    let keys = deref(buf, keys_at, width)?;
    let key_width = read_uint(buf, map.checked_sub(2 * width)?, width)?;
    if !matches!(key_width, 1 | 2 | 4 | 8) || length(buf, keys, key_width)? != len {
        return None;
    }
    let types = map.checked_add(len.checked_mul(width)?)?;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let k = deref(buf, keys.checked_add(i.checked_mul(key_width)?)?, key_width)?;
        let name = key(buf, k)?;
        let at = map.checked_add(i.checked_mul(width)?)?;
        if let Some(v) = value(buf, at, width, *buf.get(types.checked_add(i)?)?)? {
            out.push((name, v));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"a": -3, "b": 0.5, "c": true, "d": "hi", "e": [1, 2]}` as written
    /// by the flatbuffers Python `flexbuffers.Dumps` (TensorFlow's writer).
    const SAMPLE: &[u8] = &[
        97, 0, 98, 0, 99, 0, 100, 0, 2, 104, 105, 0, 101, 0, 2, 1, 2, 4, 4, 5, 20, 19, 18, 17, 12,
        0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 253, 255, 255, 255, 0, 0, 0, 63, 1, 0, 0, 0,
        43, 0, 0, 0, 41, 0, 0, 0, 6, 14, 106, 20, 40, 25, 38, 1,
    ];

    /// `{"max_detections": 10, "nms_iou_threshold": 0.6, "use_regular_nms":
    /// False, "y_scale": 10.0}`: 8-byte slots, floats stored as f64.
    const WIDE: &[u8] = &[
        109, 97, 120, 95, 100, 101, 116, 101, 99, 116, 105, 111, 110, 115, 0, 110, 109, 115, 95,
        105, 111, 117, 95, 116, 104, 114, 101, 115, 104, 111, 108, 100, 0, 117, 115, 101, 95, 114,
        101, 103, 117, 108, 97, 114, 95, 110, 109, 115, 0, 121, 95, 115, 99, 97, 108, 101, 0, 4,
        58, 44, 27, 12, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
        0, 10, 0, 0, 0, 0, 0, 0, 0, 51, 51, 51, 51, 51, 51, 227, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 36, 64, 7, 15, 107, 15, 36, 39, 1,
    ];

    #[test]
    fn decodes_scalars_strings_and_int_lists() {
        let a = decode(SAMPLE).unwrap();
        let expect = vec![
            ("a".to_string(), Attr::Int(-3)),
            ("b".to_string(), Attr::Float(0.5)),
            ("c".to_string(), Attr::Bool(true)),
            ("d".to_string(), Attr::Str("hi".into())),
            ("e".to_string(), Attr::IntList(vec![1, 2])),
        ];
        assert_eq!(a, expect);
        let w = decode(WIDE).unwrap();
        assert_eq!(w[0], ("max_detections".into(), Attr::Int(10)));
        assert_eq!(w[1], ("nms_iou_threshold".into(), Attr::Float(0.6)));
        assert_eq!(w[2], ("use_regular_nms".into(), Attr::Bool(false)));
        assert_eq!(w[3], ("y_scale".into(), Attr::Float(10.0)));
    }

    #[test]
    fn rejects_non_maps_and_never_panics() {
        assert!(decode(&[]).is_none());
        assert!(decode(&[1, 4, 1]).is_none(), "an int is not a map");
        for sample in [SAMPLE, WIDE] {
            for cut in 0..sample.len() {
                let _ = decode(&sample[cut..]);
                let _ = decode(&sample[..cut]);
            }
            for i in 0..sample.len() {
                for flip in [1u8, 0x80, 0xff] {
                    let mut b = sample.to_vec();
                    b[i] ^= flip;
                    let _ = decode(&b);
                }
            }
        }
    }
}
