//! Just enough protobuf decoding to read the attributes of the
//! `tensorflow.NodeDef` a Flex op carries (NodeDef field 5 is
//! `map<string, AttrValue>`; AttrValue holds `s` = 2, `i` = 3, `b` = 5,
//! `type` = 6). Malformed bytes yield `None`, never a panic.

use crate::TensorType;

/// One wire-format field: its number and either a varint or a byte payload.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
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
            1 | 5 => {
                pos = pos.checked_add(if key & 7 == 1 { 8 } else { 4 })?;
                Value::Other
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
    /// Only from a custom op's flexbuffer map (NodeDef floats are not decoded).
    Float(f32),
    /// Only from a custom op's flexbuffer map.
    IntList(Vec<i64>),
    /// A list of floats (e.g. FractionalMaxPool's pooling_ratio).
    FloatList(Vec<f32>),
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

/// AttrValue: s = 2 (bytes), i = 3 (int64), type = 6 (DataType).
fn attr_value(buf: &[u8]) -> Option<Attr> {
    fields(buf)?.into_iter().find_map(|(n, v)| match (n, v) {
        (2, Value::Bytes(s)) => Some(Attr::Str(String::from_utf8_lossy(s).into_owned())),
        (3, Value::Varint(i)) => Some(Attr::Int(i as i64)),
        (5, Value::Varint(b)) => Some(Attr::Bool(b != 0)),
        (6, Value::Varint(t)) => Some(Attr::Type(DataType(t))),
        _ => None,
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
}
