//! Tensors as the protocols carry them: the v2 datatype names, packed
//! little-endian element bytes or string elements, and their JSON forms.

use ferrite::DType;
use serde_json::Value;

use crate::error::{Result, ServeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    F32,
    F64,
    Bytes,
}

const NAMES: [(Datatype, &str, DType); 13] = [
    (Datatype::Bool, "BOOL", DType::Bool),
    (Datatype::U8, "UINT8", DType::Uint8),
    (Datatype::U16, "UINT16", DType::Uint16),
    (Datatype::U32, "UINT32", DType::Uint32),
    (Datatype::U64, "UINT64", DType::Uint64),
    (Datatype::I8, "INT8", DType::Int8),
    (Datatype::I16, "INT16", DType::Int16),
    (Datatype::I32, "INT32", DType::Int32),
    (Datatype::I64, "INT64", DType::Int64),
    (Datatype::F16, "FP16", DType::Float16),
    (Datatype::F32, "FP32", DType::Float32),
    (Datatype::F64, "FP64", DType::Float64),
    (Datatype::Bytes, "BYTES", DType::String),
];

impl Datatype {
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|n| n.0 == self)
            .map(|n| n.1)
            .unwrap_or("?")
    }

    pub fn parse(s: &str) -> Option<Self> {
        NAMES.iter().find(|n| n.1 == s).map(|n| n.0)
    }

    /// The protocol type of a TFLite dtype; `None` for types no protocol
    /// datatype carries (resources, complex, int4, bfloat16).
    pub fn from_dtype(d: DType) -> Option<Self> {
        NAMES.iter().find(|n| n.2 == d).map(|n| n.0)
    }

    /// Bytes per element; `None` for BYTES.
    pub fn size(self) -> Option<usize> {
        Some(match self {
            Datatype::Bool | Datatype::U8 | Datatype::I8 => 1,
            Datatype::U16 | Datatype::I16 | Datatype::F16 => 2,
            Datatype::U32 | Datatype::I32 | Datatype::F32 => 4,
            Datatype::U64 | Datatype::I64 | Datatype::F64 => 8,
            Datatype::Bytes => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Packed little-endian elements.
    Raw(Vec<u8>),
    Strings(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub datatype: Datatype,
    pub shape: Vec<usize>,
    pub data: Data,
}

/// Element count of `shape`, refusing overflow and more than `max_bytes`.
pub fn checked_count(field: &str, shape: &[usize], elem: usize, max_bytes: usize) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|n| n.saturating_mul(elem.max(1)) <= max_bytes)
        .ok_or_else(|| {
            ServeError::TooLarge(format!(
                "{field}: shape {shape:?} exceeds the tensor size limit of {max_bytes} bytes"
            ))
        })?;
    Ok(n)
}

/// Protocol shapes are int64; negative dimensions are invalid in requests.
pub fn shape_from_i64(field: &str, shape: &[i64]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| ServeError::bad(format!("{field}: dimension {d} is negative")))
        })
        .collect()
}

impl Tensor {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// Checks that the data holds exactly the elements the shape asks for.
    pub fn check_len(&self, field: &str) -> Result<()> {
        let n = self.element_count();
        let ok = match (&self.data, self.datatype.size()) {
            (Data::Raw(b), Some(s)) => b.len() == n * s,
            (Data::Strings(v), None) => v.len() == n,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let have = match &self.data {
            Data::Raw(b) => format!("{} bytes", b.len()),
            Data::Strings(v) => format!("{} strings", v.len()),
        };
        Err(ServeError::bad(format!(
            "{field}: shape {:?} of {} needs {n} elements, the data has {have}",
            self.shape,
            self.datatype.name()
        )))
    }

    /// Decodes the binary tensor layout: packed elements, or for BYTES each
    /// element as a 4-byte little-endian length and its bytes.
    pub fn from_binary(
        field: &str,
        name: String,
        datatype: Datatype,
        shape: Vec<usize>,
        bytes: &[u8],
    ) -> Result<Self> {
        let data = if datatype == Datatype::Bytes {
            let mut out = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| {
                    ServeError::bad(format!("{field}: BYTES element length is truncated"))
                })?;
                let len = u32::from_le_bytes(*len) as usize;
                if tail.len() < len {
                    return Err(ServeError::bad(format!(
                        "{field}: BYTES element of {len} bytes overruns the data"
                    )));
                }
                out.push(tail[..len].to_vec());
                rest = &tail[len..];
            }
            Data::Strings(out)
        } else {
            Data::Raw(bytes.to_vec())
        };
        let t = Tensor {
            name,
            datatype,
            shape,
            data,
        };
        t.check_len(field)?;
        Ok(t)
    }

    /// The binary tensor layout of this tensor's data.
    pub fn to_binary(&self) -> Vec<u8> {
        match &self.data {
            Data::Raw(b) => b.clone(),
            Data::Strings(v) => {
                let mut out = Vec::with_capacity(v.iter().map(|s| s.len() + 4).sum());
                for s in v {
                    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    out.extend_from_slice(s);
                }
                out
            }
        }
    }

    /// Decodes JSON elements (flat or nested arrays, row-major).
    pub fn from_json(
        field: &str,
        name: String,
        datatype: Datatype,
        shape: Vec<usize>,
        data: &Value,
    ) -> Result<Self> {
        let mut flat = Vec::new();
        flatten(data, &mut flat);
        let data = encode_elements(field, datatype, &flat)?;
        let t = Tensor {
            name,
            datatype,
            shape,
            data,
        };
        t.check_len(field)?;
        Ok(t)
    }

    /// The elements as a flat JSON array.
    pub fn json_data(&self) -> Value {
        Value::Array(self.json_elements())
    }

    pub fn json_elements(&self) -> Vec<Value> {
        match &self.data {
            Data::Strings(v) => v
                .iter()
                .map(|s| Value::String(String::from_utf8_lossy(s).into_owned()))
                .collect(),
            Data::Raw(b) => decode_raw(self.datatype, b),
        }
    }
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

macro_rules! ints {
    ($field:expr, $flat:expr, $t:ty, $name:expr) => {{
        let mut out = Vec::with_capacity($flat.len() * std::mem::size_of::<$t>());
        for (i, v) in $flat.iter().enumerate() {
            let x = if let Some(x) = v.as_i64() {
                <$t>::try_from(x).ok()
            } else if let Some(x) = v.as_u64() {
                <$t>::try_from(x).ok()
            } else {
                None
            };
            let x = x.ok_or_else(|| {
                ServeError::bad(format!(
                    "{}: element {i} ({v}) is not a valid {}",
                    $field, $name
                ))
            })?;
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }};
}

/// Encodes JSON scalars as `datatype`; other values are errors naming the element.
pub fn encode_elements(field: &str, datatype: Datatype, flat: &[&Value]) -> Result<Data> {
    let name = datatype.name();
    let not = |i: usize, v: &Value| {
        ServeError::bad(format!("{field}: element {i} ({v}) is not a valid {name}"))
    };
    Ok(match datatype {
        Datatype::Bytes => Data::Strings(
            flat.iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(|s| s.as_bytes().to_vec())
                        .ok_or_else(|| not(i, v))
                })
                .collect::<Result<_>>()?,
        ),
        Datatype::Bool => Data::Raw(
            flat.iter()
                .enumerate()
                .map(|(i, v)| v.as_bool().map(u8::from).ok_or_else(|| not(i, v)))
                .collect::<Result<_>>()?,
        ),
        Datatype::F32 => {
            let mut out = Vec::with_capacity(flat.len() * 4);
            for (i, v) in flat.iter().enumerate() {
                out.extend_from_slice(&(v.as_f64().ok_or_else(|| not(i, v))? as f32).to_le_bytes());
            }
            Data::Raw(out)
        }
        Datatype::F64 => {
            let mut out = Vec::with_capacity(flat.len() * 8);
            for (i, v) in flat.iter().enumerate() {
                out.extend_from_slice(&v.as_f64().ok_or_else(|| not(i, v))?.to_le_bytes());
            }
            Data::Raw(out)
        }
        Datatype::F16 => {
            return Err(ServeError::bad(format!(
                "{field}: FP16 elements are accepted only as binary data"
            )))
        }
        Datatype::U8 => Data::Raw(ints!(field, flat, u8, name)),
        Datatype::U16 => Data::Raw(ints!(field, flat, u16, name)),
        Datatype::U32 => Data::Raw(ints!(field, flat, u32, name)),
        Datatype::U64 => Data::Raw(ints!(field, flat, u64, name)),
        Datatype::I8 => Data::Raw(ints!(field, flat, i8, name)),
        Datatype::I16 => Data::Raw(ints!(field, flat, i16, name)),
        Datatype::I32 => Data::Raw(ints!(field, flat, i32, name)),
        Datatype::I64 => Data::Raw(ints!(field, flat, i64, name)),
    })
}

fn decode_raw(dt: Datatype, b: &[u8]) -> Vec<Value> {
    macro_rules! each {
        ($t:ty, $n:expr, $f:expr) => {
            b.chunks_exact($n)
                .map(|c| $f(<$t>::from_le_bytes(c.try_into().unwrap_or([0; $n]))))
                .collect()
        };
    }
    match dt {
        Datatype::Bool => b.iter().map(|&x| Value::Bool(x != 0)).collect(),
        Datatype::U8 => b.iter().map(|&x| Value::from(x)).collect(),
        Datatype::I8 => b.iter().map(|&x| Value::from(x as i8)).collect(),
        Datatype::U16 => each!(u16, 2, Value::from),
        Datatype::I16 => each!(i16, 2, Value::from),
        Datatype::U32 => each!(u32, 4, Value::from),
        Datatype::I32 => each!(i32, 4, Value::from),
        Datatype::U64 => each!(u64, 8, Value::from),
        Datatype::I64 => each!(i64, 8, Value::from),
        Datatype::F32 => each!(f32, 4, |x: f32| Value::from(x as f64)),
        Datatype::F64 => each!(f64, 8, Value::from),
        Datatype::F16 => each!(u16, 2, |x: u16| Value::from(f16_to_f32(x) as f64)),
        Datatype::Bytes => Vec::new(),
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // subnormal: value = f * 2^-24
            return f32::from_bits(sign)
                + (f as f32) * 2f32.powi(-24) * if sign != 0 { -1.0 } else { 1.0 };
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// Nests flat JSON elements by `shape` (TF Serving answers nested arrays).
pub fn nest(flat: &[Value], shape: &[usize]) -> Value {
    match shape.split_first() {
        None => flat.first().cloned().unwrap_or(Value::Null),
        Some((_, [])) => Value::Array(flat.to_vec()),
        Some((&n, rest)) => {
            let step = rest.iter().product::<usize>();
            Value::Array(
                (0..n)
                    .map(|i| nest(flat.get(i * step..(i + 1) * step).unwrap_or(&[]), rest))
                    .collect(),
            )
        }
    }
}

/// The shape of a nested JSON array, checking it is rectangular.
pub fn json_shape(field: &str, v: &Value) -> Result<Vec<usize>> {
    match v {
        Value::Array(items) => {
            let Some(first) = items.first() else {
                return Ok(vec![0]);
            };
            let inner = json_shape(field, first)?;
            for (i, item) in items.iter().enumerate().skip(1) {
                if json_shape(field, item)? != inner {
                    return Err(ServeError::bad(format!(
                        "{field}: element {i} has a different shape from element 0 (ragged array)"
                    )));
                }
            }
            Ok(std::iter::once(items.len()).chain(inner).collect())
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip_and_errors_name_the_element() {
        let t = Tensor::from_json(
            "inputs[0].data",
            "x".into(),
            Datatype::I16,
            vec![2, 2],
            &json!([[1, -2], [3, 4]]),
        )
        .unwrap();
        assert_eq!(t.json_data(), json!([1, -2, 3, 4]));
        let e = Tensor::from_json(
            "inputs[0].data",
            "x".into(),
            Datatype::I8,
            vec![2],
            &json!([1, 300]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("inputs[0].data: element 1 (300) is not a valid INT8"),
            "{e}"
        );
        let e =
            Tensor::from_json("f", "x".into(), Datatype::F32, vec![3], &json!([1, 2])).unwrap_err();
        assert!(e.to_string().contains("needs 3 elements"), "{e}");
        let e = Tensor::from_json("f", "x".into(), Datatype::Bool, vec![1], &json!(["yes"]))
            .unwrap_err();
        assert!(e.to_string().contains("not a valid BOOL"), "{e}");
    }

    #[test]
    fn bytes_binary_layout_round_trips_and_rejects_overruns() {
        let t = Tensor::from_json(
            "f",
            "s".into(),
            Datatype::Bytes,
            vec![2],
            &json!(["ab", ""]),
        )
        .unwrap();
        let bin = t.to_binary();
        assert_eq!(bin, [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
        let back = Tensor::from_binary("f", "s".into(), Datatype::Bytes, vec![2], &bin).unwrap();
        assert_eq!(back, t);
        assert!(
            Tensor::from_binary("f", "s".into(), Datatype::Bytes, vec![1], &[9, 0, 0, 0, 1])
                .is_err()
        );
        assert!(Tensor::from_binary("f", "s".into(), Datatype::Bytes, vec![1], &[1, 0]).is_err());
    }

    #[test]
    fn nest_and_shape_agree() {
        let flat: Vec<Value> = (0..6).map(Value::from).collect();
        let nested = nest(&flat, &[2, 3]);
        assert_eq!(nested, json!([[0, 1, 2], [3, 4, 5]]));
        assert_eq!(json_shape("f", &nested).unwrap(), vec![2, 3]);
        assert!(json_shape("f", &json!([[1, 2], [3]])).is_err());
        assert_eq!(nest(&flat[..1], &[]), json!(0));
    }

    #[test]
    fn sizes_are_limited_without_overflow() {
        assert!(checked_count("f", &[usize::MAX, 2], 4, 1 << 30).is_err());
        assert!(checked_count("f", &[1024, 1024], 4, 1 << 20).is_err());
        assert_eq!(checked_count("f", &[2, 3], 4, 1 << 20).unwrap(), 6);
    }

    #[test]
    fn f16_decodes() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}
