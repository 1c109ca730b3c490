//! Flex custom options as the converter writes them: a flexbuffer
//! [op name, NodeDef], built by hand for tests.

// Each test binary that includes this uses only part of it.
#![allow(dead_code)]

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field_bytes(num: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(num << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

pub enum Attr<'a> {
    Type(u64),
    Str(&'a str),
}

/// A NodeDef: name (1), op (2), attrs (5: key 1, AttrValue 2 with s = 2 or
/// type = 6).
pub fn node_def(op: &str, attrs: &[(&str, Attr)]) -> Vec<u8> {
    let mut out = Vec::new();
    field_bytes(1, b"node", &mut out);
    field_bytes(2, op.as_bytes(), &mut out);
    for (key, value) in attrs {
        let mut v = Vec::new();
        match value {
            Attr::Type(t) => {
                varint(6 << 3, &mut v);
                varint(*t, &mut v);
            }
            Attr::Str(s) => field_bytes(2, s.as_bytes(), &mut v),
        }
        let mut entry = Vec::new();
        field_bytes(1, key.as_bytes(), &mut entry);
        field_bytes(2, &v, &mut entry);
        field_bytes(5, &entry, &mut out);
    }
    out
}

/// A flexbuffer vector of two strings, all widths 4 bytes.
pub fn flex_options(op: &str, def: &[u8]) -> Vec<u8> {
    const STRING: u8 = 5 << 2 | 2;
    const VECTOR: u8 = 10 << 2 | 2;
    let mut b = Vec::new();
    let string = |s: &[u8], b: &mut Vec<u8>| {
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        let at = b.len();
        b.extend_from_slice(s);
        b.push(0);
        at
    };
    let s0 = string(op.as_bytes(), &mut b);
    let s1 = string(def, &mut b);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b.extend_from_slice(&2u32.to_le_bytes());
    let vec = b.len();
    b.extend_from_slice(&((vec - s0) as u32).to_le_bytes());
    b.extend_from_slice(&((vec + 4 - s1) as u32).to_le_bytes());
    b.extend_from_slice(&[STRING, STRING]);
    let root = b.len();
    b.extend_from_slice(&((root - vec) as u32).to_le_bytes());
    b.extend_from_slice(&[VECTOR, 4]);
    b
}
