//! The ZIP subset `.npz` files use: stored or deflated entries, found
//! through the central directory.

use crate::{err, NpzError, Result};

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| NpzError::Format("zip structure is truncated".into()))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| NpzError::Format("zip structure is truncated".into()))
}

/// (name, uncompressed bytes) of every entry.
pub(crate) fn entries(b: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    // The end-of-central-directory record sits within the last 64 KiB + 22.
    let lo = b.len().saturating_sub(65_557);
    let eocd = (lo..b.len().saturating_sub(21))
        .rev()
        .find(|&i| b[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| {
            NpzError::Format("not a zip archive (no end of central directory)".into())
        })?;
    let count = u16_at(b, eocd + 10)? as usize;
    let mut at = u32_at(b, eocd + 16)? as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(b, at)? != 0x0201_4b50 {
            return err("bad central directory entry");
        }
        let method = u16_at(b, at + 10)?;
        let csize = u32_at(b, at + 20)? as usize;
        let usize_ = u32_at(b, at + 24)? as usize;
        let name_len = u16_at(b, at + 28)? as usize;
        let extra_len = u16_at(b, at + 30)? as usize;
        let comment_len = u16_at(b, at + 32)? as usize;
        let local = u32_at(b, at + 42)? as usize;
        let name = b
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| NpzError::Format("zip entry name is truncated".into()))?;
        let name = String::from_utf8_lossy(name).into_owned();
        if csize == u32::MAX as usize || usize_ == u32::MAX as usize {
            return err(format!("{name}: zip64 entries are not supported"));
        }
        if u32_at(b, local)? != 0x0403_4b50 {
            return err(format!("{name}: bad local header"));
        }
        let start = local + 30 + u16_at(b, local + 26)? as usize + u16_at(b, local + 28)? as usize;
        let raw = b
            .get(start..start.saturating_add(csize))
            .ok_or_else(|| NpzError::Format(format!("{name}: entry data is truncated")))?;
        let data = match method {
            0 => raw.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, usize_)
                .map_err(|e| NpzError::Format(format!("{name}: bad deflate data: {e:?}")))?,
            m => {
                return err(format!(
                    "{name}: zip compression method {m} is not supported"
                ))
            }
        };
        out.push((name, data));
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An uncompressed archive of `files`.
pub(crate) fn store(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let crc = crc32(data);
        let offset = out.len() as u32;
        let header = |sig: u32, buf: &mut Vec<u8>, central: bool| {
            buf.extend_from_slice(&sig.to_le_bytes());
            if central {
                buf.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            buf.extend_from_slice(&20u16.to_le_bytes()); // needed to extract
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&0u16.to_le_bytes()); // stored
            buf.extend_from_slice(&0u32.to_le_bytes()); // time, date
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        header(0x0403_4b50, &mut out, false);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        header(0x0201_4b50, &mut central, true);
        central.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}
