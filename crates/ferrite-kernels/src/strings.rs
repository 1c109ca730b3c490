//! TFLite STRING tensor buffers: an int32 count, count+1 int32 offsets from
//! the buffer start, then the bytes.

use crate::api::{invalid, KResult};

/// Splits a STRING buffer into its strings, checking every offset.
pub fn decode(data: &[u8]) -> KResult<Vec<&[u8]>> {
    let word = |i: usize| -> Option<usize> {
        let b = data.get(4 * i..4 * i + 4)?;
        usize::try_from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
    };
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let count = word(0).ok_or_else(|| {
        crate::api::KernelError::InvalidInput("string buffer has no count".into())
    })?;
    if count > data.len() / 4 {
        return invalid(format!(
            "string buffer claims {count} strings in {} bytes",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (Some(start), Some(end)) = (word(1 + i), word(2 + i)) else {
            return invalid("string buffer offsets are truncated");
        };
        match data.get(start..end) {
            Some(s) => out.push(s),
            None => {
                return invalid(format!(
                    "string {i} spans {start}..{end} outside the buffer"
                ))
            }
        }
    }
    Ok(out)
}

/// Builds a STRING buffer from `strings`.
pub fn encode<S: AsRef<[u8]>>(strings: &[S]) -> Vec<u8> {
    let n = strings.len();
    let header = 4 * (n + 2);
    let total: usize = header + strings.iter().map(|s| s.as_ref().len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(n as i32).to_le_bytes());
    let mut off = header;
    for s in strings {
        out.extend_from_slice(&(off as i32).to_le_bytes());
        off += s.as_ref().len();
    }
    out.extend_from_slice(&(off as i32).to_le_bytes());
    for s in strings {
        out.extend_from_slice(s.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_reject_bad_offsets() {
        let buf = encode(&[b"ab".as_slice(), b"", b"xyz"]);
        assert_eq!(decode(&buf).unwrap(), vec![b"ab".as_slice(), b"", b"xyz"]);
        let mut bad = buf.clone();
        bad[8..12].copy_from_slice(&1000i32.to_le_bytes());
        assert!(decode(&bad).is_err());
        assert!(decode(&[1, 0, 0]).is_err());
        assert!(decode(&encode::<&[u8]>(&[])).unwrap().is_empty());
    }
}
