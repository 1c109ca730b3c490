//! Just enough protobuf decoding to read the attributes of the
//! `tensorflow.NodeDef` a Flex op carries (NodeDef field 5 is
//! `map<string, AttrValue>`; AttrValue holds `list` = 1, `s` = 2, `i` = 3,
//! `f` = 4, `b` = 5, `type` = 6). Malformed bytes yield `None`, never a panic.

use crate::TensorType;

/// One wire-format field: its number and either a varint or a byte payload.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
    Other,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The fields of one message in order; `None` if the bytes are malformed.
fn fields(buf: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Value::Varint(varint(buf, &mut pos)?),
            1 => {
                pos = pos.checked_add(8)?;
                Value::Other
            }
            5 => {
                let b = buf.get(pos..pos.checked_add(4)?)?;
                pos += 4;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= buf.len())?;
                let v = Value::Bytes(&buf[pos..end]);
                pos = end;
                v
            }
            _ => return None,
        };
        if pos > buf.len() {
            return None;
        }
        out.push((key >> 3, value));
    }
    Some(out)
}

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Str(String),
    Type(DataType),
    Int(i64),
    Bool(bool),
    Float(f32),
    /// A list of ints; also what an empty `list {}` decodes to, whatever
    /// its declared element kind.
    IntList(Vec<i64>),
    StrList(Vec<String>),
    FloatList(Vec<f32>),
    TypeList(Vec<DataType>),
}

impl Attr {
    /// The strings of a list(string) attribute (an empty list included).
    pub fn str_list(&self) -> Option<&[String]> {
        match self {
            Attr::StrList(v) => Some(v),
            Attr::IntList(v) if v.is_empty() => Some(&[]),
            _ => None,
        }
    }
}

/// A `tensorflow.DataType` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataType(pub u64);

impl DataType {
    /// numpy-style name (`float32`, `string`).
    pub fn name(self) -> &'static str {
        tf_dtype_name(self.0)
    }

    /// The TFLite tensor type holding the same elements.
    pub fn tensor_type(self) -> Option<TensorType> {
        Some(match self.name() {
            "float32" => TensorType::Float32,
            "float64" => TensorType::Float64,
            "int32" => TensorType::Int32,
            "uint8" => TensorType::Uint8,
            "int16" => TensorType::Int16,
            "int8" => TensorType::Int8,
            "string" => TensorType::String,
            "int64" => TensorType::Int64,
            "bool" => TensorType::Bool,
            "float16" => TensorType::Float16,
            "uint16" => TensorType::Uint16,
            "uint32" => TensorType::Uint32,
            "uint64" => TensorType::Uint64,
            "complex64" => TensorType::Complex64,
            "resource" => TensorType::Resource,
            "variant" => TensorType::Variant,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The node name (NodeDef field 1) of a serialised NodeDef.
pub fn node_name(node_def: &[u8]) -> Option<String> {
    fields(node_def)?
        .into_iter()
        .find_map(|(n, v)| match (n, v) {
            (1, Value::Bytes(s)) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        })
}

/// The op name (NodeDef field 2) of a serialised NodeDef.
pub fn op_name(node_def: &[u8]) -> Option<String> {
    fields(node_def)?
        .into_iter()
        .find_map(|(n, v)| match (n, v) {
            (2, Value::Bytes(s)) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        })
}

/// Looks up attribute `key`.
pub fn attr<'a>(attrs: &'a [(String, Attr)], key: &str) -> Option<&'a Attr> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The attributes of a serialised NodeDef (field 5: map<string, AttrValue>).
pub fn attrs(node_def: &[u8]) -> Option<Vec<(String, Attr)>> {
    let mut out = Vec::new();
    for (num, v) in fields(node_def)? {
        let (5, Value::Bytes(entry)) = (num, v) else {
            continue;
        };
        let mut key = None;
        let mut value = None;
        for (n, v) in fields(entry)? {
            match (n, v) {
                (1, Value::Bytes(k)) => key = Some(String::from_utf8_lossy(k).into_owned()),
                (2, Value::Bytes(a)) => value = attr_value(a),
                _ => {}
            }
        }
        if let (Some(k), Some(v)) = (key, value) {
            out.push((k, v));
        }
    }
    Some(out)
}

/// AttrValue: list = 1, s = 2 (bytes), i = 3 (int64), f = 4 (float),
/// b = 5, type = 6 (DataType). Other kinds (shape, tensor, func) are skipped.
fn attr_value(buf: &[u8]) -> Option<Attr> {
    fields(buf)?.into_iter().find_map(|(n, v)| match (n, v) {
        (1, Value::Bytes(l)) => list_value(l),
        (2, Value::Bytes(s)) => Some(Attr::Str(String::from_utf8_lossy(s).into_owned())),
        (3, Value::Varint(i)) => Some(Attr::Int(i as i64)),
        (4, Value::Fixed32(f)) => Some(Attr::Float(f32::from_bits(f))),
        (5, Value::Varint(b)) => Some(Attr::Bool(b != 0)),
        (6, Value::Varint(t)) => Some(Attr::Type(DataType(t))),
        _ => None,
    })
}

/// Varints of a repeated scalar field, packed (one byte payload) or not.
fn push_varints(v: &Value<'_>, out: &mut Vec<u64>) -> Option<()> {
    match v {
        Value::Varint(x) => out.push(*x),
        Value::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                out.push(varint(b, &mut pos)?);
            }
        }
        _ => return None,
    }
    Some(())
}

/// ListValue: s = 2, i = 3, f = 4, type = 6, each repeated. A list holds
/// one kind; the first kind present wins.
fn list_value(buf: &[u8]) -> Option<Attr> {
    let fs = fields(buf)?;
    let kind = fs
        .iter()
        .map(|(n, _)| *n)
        .find(|n| [2, 3, 4, 6].contains(n));
    let of = |k: u64| fs.iter().filter(move |(n, _)| *n == k).map(|(_, v)| v);
    Some(match kind {
        Some(2) => Attr::StrList(
            of(2)
                .map(|v| match v {
                    Value::Bytes(s) => Some(String::from_utf8_lossy(s).into_owned()),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        ),
        Some(k @ (3 | 6)) => {
            let mut raw = Vec::new();
            for v in of(k) {
                push_varints(v, &mut raw)?;
            }
            if k == 3 {
                Attr::IntList(raw.into_iter().map(|x| x as i64).collect())
            } else {
                Attr::TypeList(raw.into_iter().map(DataType).collect())
            }
        }
        Some(4) => {
            let mut out = Vec::new();
            for v in of(4) {
                match v {
                    Value::Fixed32(f) => out.push(f32::from_bits(*f)),
                    Value::Bytes(b) if b.len() % 4 == 0 => out.extend(
                        b.chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    ),
                    _ => return None,
                }
            }
            Attr::FloatList(out)
        }
        _ => Attr::IntList(Vec::new()),
    })
}

/// Names of `tensorflow.DataType` values, numpy style where one exists.
fn tf_dtype_name(code: u64) -> &'static str {
    const NAMES: [&str; 24] = [
        "invalid",
        "float32",
        "float64",
        "int32",
        "uint8",
        "int16",
        "int8",
        "string",
        "complex64",
        "int64",
        "bool",
        "qint8",
        "quint8",
        "qint32",
        "bfloat16",
        "qint16",
        "quint16",
        "uint16",
        "complex128",
        "float16",
        "resource",
        "variant",
        "uint32",
        "uint64",
    ];
    // Reference types (code + 100) describe the same element type.
    let code = if (101..124).contains(&code) {
        code - 100
    } else {
        code
    };
    usize::try_from(code)
        .ok()
        .and_then(|c| NAMES.get(c))
        .copied()
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_string_and_type_attrs() {
        // attr { key: "key_dtype" value { type: DT_STRING } }
        let mut entry = vec![0x0a, 9];
        entry.extend_from_slice(b"key_dtype");
        entry.extend_from_slice(&[0x12, 2, 0x30, 7]);
        let mut def = vec![0x12, 3];
        def.extend_from_slice(b"Foo");
        def.push(0x2a);
        def.push(entry.len() as u8);
        def.extend_from_slice(&entry);
        let a = attrs(&def).unwrap();
        assert_eq!(a, vec![("key_dtype".to_string(), Attr::Type(DataType(7)))]);
        assert_eq!(DataType(7).tensor_type(), Some(TensorType::String));
        assert!(attrs(&[0x2a, 50, 1]).is_none());
    }

    /// A NodeDef with one attr `key` whose AttrValue bytes are `value`.
    fn node_with(key: &str, value: &[u8]) -> Vec<u8> {
        let mut entry = vec![0x0a, key.len() as u8];
        entry.extend_from_slice(key.as_bytes());
        entry.extend_from_slice(&[0x12, value.len() as u8]);
        entry.extend_from_slice(value);
        let mut def = vec![0x2a, entry.len() as u8];
        def.extend_from_slice(&entry);
        def
    }

    fn one(key: &str, value: &[u8]) -> Option<Attr> {
        attrs(&node_with(key, value))?.pop().map(|(_, v)| v)
    }

    #[test]
    fn decodes_float_and_list_attrs() {
        // f: 1.5 (fixed32, field 4)
        let mut f = vec![0x25];
        f.extend_from_slice(&1.5f32.to_le_bytes());
        assert_eq!(one("x", &f), Some(Attr::Float(1.5)));
        // list { s: "A" s: "BC" }
        let v = one("p", &[0x0a, 7, 0x12, 1, b'A', 0x12, 2, b'B', b'C']).unwrap();
        assert_eq!(v.str_list().unwrap(), ["A".to_string(), "BC".to_string()]);
        // list { i: [3, 300] } packed, and list { type: [1, 7] } unpacked
        assert_eq!(
            one("i", &[0x0a, 5, 0x1a, 3, 3, 0xac, 0x02]),
            Some(Attr::IntList(vec![3, 300]))
        );
        assert_eq!(
            one("t", &[0x0a, 4, 0x30, 1, 0x30, 7]),
            Some(Attr::TypeList(vec![DataType(1), DataType(7)]))
        );
        // list { f: [0.5] } packed
        let mut fl = vec![0x0a, 6, 0x22, 4];
        fl.extend_from_slice(&0.5f32.to_le_bytes());
        assert_eq!(one("f", &fl), Some(Attr::FloatList(vec![0.5])));
        // An empty list is an empty list of any kind.
        let empty = one("e", &[0x0a, 0]).unwrap();
        assert_eq!(empty.str_list(), Some(&[][..]));
    }

    #[test]
    fn malformed_lists_and_floats_are_rejected_not_panics() {
        // truncated fixed32, a packed varint that never ends, a float list
        // whose payload is not a multiple of 4
        assert_eq!(one("x", &[0x25, 1, 2]), None);
        assert_eq!(one("i", &[0x0a, 3, 0x1a, 1, 0x80]), None);
        assert_eq!(one("f", &[0x0a, 5, 0x22, 3, 1, 2, 3]), None);
        for n in 0..=255u8 {
            for m in 0..=255u8 {
                let _ = attrs(&node_with("k", &[0x0a, 2, n, m]));
            }
        }
    }
}
