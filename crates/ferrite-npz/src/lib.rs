//! NumPy `.npy` arrays and `.npz` archives (ZIP, stored or deflated), as
//! `np.savez` and `np.savez_compressed` write them. Arrays keep raw
//! little-endian bytes plus a dtype; byte strings (`S`) and unicode (`U`)
//! arrays become lists of byte strings.

mod zip;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    #[error("{0}")]
    Format(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, NpzError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(NpzError::Format(msg.into()))
}

/// Element types ferrite exchanges through npz files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F16,
    F32,
    F64,
    Complex64,
    /// Byte strings; `data` is empty and `strings` holds the values.
    Bytes,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::Complex64 => 8,
            DType::Bytes => 0,
        }
    }

    fn descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::U8 => "|u1",
            DType::I16 => "<i2",
            DType::U16 => "<u2",
            DType::I32 => "<i4",
            DType::U32 => "<u4",
            DType::I64 => "<i8",
            DType::U64 => "<u8",
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::Complex64 => "<c8",
            DType::Bytes => "|S",
        }
    }

    /// numpy's name for the type (`float32`, `bytes`).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::I64 => "int64",
            DType::U64 => "uint64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::Complex64 => "complex64",
            DType::Bytes => "bytes",
        }
    }
}

/// One array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Little-endian element bytes (empty for `Bytes`).
    pub data: Vec<u8>,
    /// The elements of a `Bytes` array.
    pub strings: Vec<Vec<u8>>,
}

impl Array {
    pub fn new(dtype: DType, shape: Vec<usize>, data: Vec<u8>) -> Self {
        Array {
            dtype,
            shape,
            data,
            strings: Vec::new(),
        }
    }

    pub fn from_strings(shape: Vec<usize>, strings: Vec<Vec<u8>>) -> Self {
        Array {
            dtype: DType::Bytes,
            shape,
            data: Vec::new(),
            strings,
        }
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as f64, for comparisons across float and integer types.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        let d = &self.data;
        let v: Vec<f64> = match self.dtype {
            DType::Bool | DType::U8 => d.iter().map(|&x| x as f64).collect(),
            DType::I8 => d.iter().map(|&x| x as i8 as f64).collect(),
            DType::I16 => d
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f64)
                .collect(),
            DType::U16 => d
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as f64)
                .collect(),
            DType::I32 => d
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            DType::U32 => d
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            DType::I64 => d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            DType::U64 => d
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            DType::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            DType::F64 => d
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::Complex64 | DType::Bytes => return None,
        };
        Some(v)
    }
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Parses one `.npy` file.
pub fn parse_npy(bytes: &[u8]) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return err("not a .npy file (bad magic)");
    }
    let major = bytes[6];
    let (header_len, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return err(format!("unsupported .npy version {major}")),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| NpzError::Format("truncated .npy header".into()))?;
    let header =
        std::str::from_utf8(header).map_err(|_| NpzError::Format("non-text .npy header".into()))?;
    let descr =
        dict_value(header, "descr").ok_or_else(|| NpzError::Format("header lacks descr".into()))?;
    let quote = descr.chars().next().unwrap_or('\'');
    let descr = descr[quote.len_utf8()..].split(quote).next().unwrap_or("");
    let fortran = dict_value(header, "fortran_order").is_some_and(|v| v.starts_with("True"));
    if fortran {
        return err("Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
    }
    let shape_txt =
        dict_value(header, "shape").ok_or_else(|| NpzError::Format("header lacks shape".into()))?;
    let shape = shape_txt
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| NpzError::Format(format!("bad shape {shape_txt}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| NpzError::Format("shape overflows".into()))?;
    let body = &bytes[start + header_len..];
    let (kind, width) = descr.split_at(descr.len().min(2));
    let width: usize = width.parse().unwrap_or(0);
    let take = |n: usize| -> Result<Vec<u8>> {
        body.get(..n)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| NpzError::Format("array data is truncated".into()))
    };
    if descr.starts_with('>') && width > 1 {
        return err(format!("big-endian dtype {descr} is not supported"));
    }
    let fixed = |dtype: DType| -> Result<Array> {
        let n = count
            .checked_mul(dtype.size())
            .ok_or_else(|| NpzError::Format("array too large".into()))?;
        Ok(Array::new(dtype, shape.clone(), take(n)?))
    };
    match (kind, width) {
        ("|b", 1) => fixed(DType::Bool),
        ("|i", 1) => fixed(DType::I8),
        ("|u", 1) => fixed(DType::U8),
        ("<i" | "=i", 2) => fixed(DType::I16),
        ("<u" | "=u", 2) => fixed(DType::U16),
        ("<i" | "=i", 4) => fixed(DType::I32),
        ("<u" | "=u", 4) => fixed(DType::U32),
        ("<i" | "=i", 8) => fixed(DType::I64),
        ("<u" | "=u", 8) => fixed(DType::U64),
        ("<f" | "=f", 2) => fixed(DType::F16),
        ("<f" | "=f", 4) => fixed(DType::F32),
        ("<f" | "=f", 8) => fixed(DType::F64),
        ("<c" | "=c", 8) => fixed(DType::Complex64),
        ("|S", w) => {
            let data = take(
                count
                    .checked_mul(w)
                    .ok_or_else(|| NpzError::Format("array too large".into()))?,
            )?;
            // numpy drops trailing NULs from S elements.
            let strings = if w == 0 {
                vec![Vec::new(); count]
            } else {
                data.chunks_exact(w)
                    .map(|c| {
                        let end = c.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                        c[..end].to_vec()
                    })
                    .collect()
            };
            Ok(Array::from_strings(shape, strings))
        }
        ("<U" | "=U", w) => {
            let data = take(
                count
                    .checked_mul(w * 4)
                    .ok_or_else(|| NpzError::Format("array too large".into()))?,
            )?;
            let strings = if w == 0 {
                vec![Vec::new(); count]
            } else {
                data.chunks_exact(w * 4)
                    .map(|c| {
                        let s: String = c
                            .chunks_exact(4)
                            .map(|u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
                            .take_while(|&u| u != 0)
                            .filter_map(char::from_u32)
                            .collect();
                        s.into_bytes()
                    })
                    .collect()
            };
            Ok(Array::from_strings(shape, strings))
        }
        _ => err(format!("unsupported dtype {descr}")),
    }
}

/// The text after `'key':` in a numpy header dict.
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let pat = format!("'{key}':");
    let at = header.find(&pat)? + pat.len();
    Some(header[at..].trim_start())
}

/// Encodes one array as `.npy` (version 1.0).
pub fn write_npy(a: &Array) -> Vec<u8> {
    let (descr, body) = if a.dtype == DType::Bytes {
        let w = a.strings.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut body = Vec::with_capacity(w * a.strings.len());
        for s in &a.strings {
            body.extend_from_slice(s);
            body.resize(body.len() + w - s.len(), 0);
        }
        (format!("|S{w}"), body)
    } else {
        (a.dtype.descr().to_string(), a.data.clone())
    };
    let shape = match a.shape.len() {
        1 => format!("({},)", a.shape[0]),
        _ => format!(
            "({})",
            a.shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts on a 64-byte boundary, newline-terminated.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads every array of an `.npz` archive, in archive order, keyed by name
/// without the `.npy` suffix.
pub fn read_npz_bytes(bytes: &[u8]) -> Result<Vec<(String, Array)>> {
    zip::entries(bytes)?
        .into_iter()
        .map(|(name, data)| {
            let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
            let arr = parse_npy(&data).map_err(|e| NpzError::Format(format!("{key}: {e}")))?;
            Ok((key, arr))
        })
        .collect()
}

pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NpzError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_npz_bytes(&bytes).map_err(|e| NpzError::Format(format!("{}: {e}", path.display())))
}

/// Encodes arrays as an uncompressed `.npz` archive.
pub fn write_npz_bytes(arrays: &[(String, Array)]) -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = arrays
        .iter()
        .map(|(k, a)| (format!("{k}.npy"), write_npy(a)))
        .collect();
    zip::store(&files)
}

pub fn write_npz(path: impl AsRef<Path>, arrays: &[(String, Array)]) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, write_npz_bytes(arrays)).map_err(|source| NpzError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npz_round_trip_keeps_numbers_and_strings() {
        let f: Vec<u8> = [1.5f32, -2.0, 3.25]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let arrays = vec![
            ("x".to_string(), Array::new(DType::F32, vec![3], f)),
            (
                "s".to_string(),
                Array::from_strings(vec![2], vec![b"ab".to_vec(), b"".to_vec()]),
            ),
            (
                "scalar".to_string(),
                Array::new(DType::I64, vec![], 7i64.to_le_bytes().to_vec()),
            ),
        ];
        let bytes = write_npz_bytes(&arrays);
        assert_eq!(read_npz_bytes(&bytes).unwrap(), arrays);
        assert!(read_npz_bytes(&bytes[..bytes.len() / 2]).is_err());
        assert!(parse_npy(b"garbage!!!!!").is_err());
    }
}
