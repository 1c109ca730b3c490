//! Moving tensors between npz arrays and the interpreter, and making seeded
//! random inputs.

use anyhow::{bail, Result};
use ferrite::{DType, TensorInfo, TensorView};
use ferrite_npz::{Array, DType as NpDType};

pub fn np_dtype(d: DType) -> Option<NpDType> {
    Some(match d {
        DType::Float32 => NpDType::F32,
        DType::Float64 => NpDType::F64,
        DType::Float16 => NpDType::F16,
        DType::Int8 => NpDType::I8,
        DType::Uint8 => NpDType::U8,
        DType::Int16 => NpDType::I16,
        DType::Uint16 => NpDType::U16,
        DType::Int32 => NpDType::I32,
        DType::Uint32 => NpDType::U32,
        DType::Int64 => NpDType::I64,
        DType::Uint64 => NpDType::U64,
        DType::Bool => NpDType::Bool,
        DType::Complex64 => NpDType::Complex64,
        DType::String => NpDType::Bytes,
        _ => return None,
    })
}

/// The bytes to hand the interpreter for `array` feeding `info`.
pub fn input_bytes(info: &TensorInfo, array: &Array, key: &str) -> Result<Vec<u8>> {
    let want = np_dtype(info.dtype);
    if want != Some(array.dtype) {
        bail!(
            "input '{key}' is {} in the npz but the model's tensor '{}' is {} (convert it with numpy's astype)",
            array.dtype.name(),
            info.name,
            want.map_or(info.dtype.name(), |d| d.name())
        );
    }
    Ok(if array.dtype == NpDType::Bytes {
        ferrite_kernels::strings::encode(&array.strings)
    } else {
        array.data.clone()
    })
}

/// An npz array holding `view`.
pub fn output_array(view: &TensorView<'_>) -> Result<Array> {
    let Some(dtype) = np_dtype(view.dtype) else {
        bail!(
            "output '{}' has dtype {}, which npz files cannot hold",
            view.name,
            view.dtype
        );
    };
    Ok(if dtype == NpDType::Bytes {
        let strings = ferrite::strings_of(view)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        Array::from_strings(view.shape.to_vec(), strings)
    } else {
        Array::new(dtype, view.shape.to_vec(), view.data.to_vec())
    })
}

/// splitmix64: small, seedable, good enough for test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Seeded random contents for `info`: floats in [-1, 1), integers in
/// [0, 10) (valid as small indices), quantized types over their whole range.
pub fn random_input(info: &TensorInfo, rng: &mut Rng) -> Result<Vec<u8>> {
    let n: usize = info.shape.iter().product();
    let mut out = Vec::new();
    for _ in 0..n {
        let r = rng.unit();
        let small = (rng.next_u64() % 10) as i64;
        match info.dtype {
            DType::Float32 => out.extend_from_slice(&(r as f32).to_le_bytes()),
            DType::Float64 => out.extend_from_slice(&r.to_le_bytes()),
            DType::Float16 => out.extend_from_slice(&half::f16::from_f64(r).to_le_bytes()),
            DType::Int8 => out.push((r * 128.0) as i8 as u8),
            DType::Uint8 => out.push(((r + 1.0) * 127.5) as u8),
            DType::Int16 => out.extend_from_slice(&((r * 32767.0) as i16).to_le_bytes()),
            DType::Uint16 => out.extend_from_slice(&(small as u16).to_le_bytes()),
            DType::Int32 => out.extend_from_slice(&(small as i32).to_le_bytes()),
            DType::Uint32 => out.extend_from_slice(&(small as u32).to_le_bytes()),
            DType::Int64 => out.extend_from_slice(&small.to_le_bytes()),
            DType::Uint64 => out.extend_from_slice(&(small as u64).to_le_bytes()),
            DType::Bool => out.push((r > 0.0) as u8),
            DType::String => {}
            other => bail!(
                "cannot make random data for input '{}' of dtype {other}",
                info.name
            ),
        }
    }
    if info.dtype == DType::String {
        let words: Vec<String> = (0..n)
            .map(|_| format!("word{}", rng.next_u64() % 100))
            .collect();
        return Ok(ferrite_kernels::strings::encode(&words));
    }
    Ok(out)
}

/// One line describing a tensor's value: dtype, shape and a few statistics.
pub fn describe(view: &TensorView<'_>) -> String {
    let head = format!(
        "{} {} {:?}",
        view.name,
        view.dtype.name().to_lowercase(),
        view.shape
    );
    if view.dtype == DType::String {
        let strings = ferrite::strings_of(view).unwrap_or_default();
        let shown: Vec<String> = strings
            .iter()
            .take(4)
            .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
            .collect();
        return format!(
            "{head} [{}{}]",
            shown.join(", "),
            if strings.len() > 4 { ", ..." } else { "" }
        );
    }
    let Some(values) = output_array(view).ok().and_then(|a| a.to_f64()) else {
        return head;
    };
    if values.is_empty() {
        return format!("{head} (empty)");
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let first: Vec<String> = values.iter().take(5).map(|v| format!("{v:.6}")).collect();
    format!(
        "{head} min {min:.6} max {max:.6} mean {mean:.6} first [{}{}]",
        first.join(", "),
        if values.len() > 5 { ", ..." } else { "" }
    )
}
