//! Bounds-checked FlatBuffers reading.
//!
//! Every access checks offsets, alignment and lengths against the buffer, so
//! decoding a table *is* verifying it: a hostile file yields `Malformed`, never
//! an out-of-bounds read. A budget on the bytes decoding allocates, in
//! proportion to the file size, stops files that point many offsets at the
//! same object from amplifying into huge allocations.

use std::cell::Cell;

use crate::error::{FormatError, Result};

/// Decoded bytes allowed per byte of file. Real models decode to under 7x
/// their size; the writer's output to at most ~40x (an empty tensor table
/// takes 8 bytes of file and a ~300-byte `Tensor`), so rewrites re-read.
const BUDGET_PER_FILE_BYTE: u64 = 64;
/// Decoded bytes allowed whatever the file size.
const BUDGET_BASE: u64 = 1 << 20;
/// What decoding any table costs, so shared tables without vectors still
/// use up the budget.
const TABLE_COST: u64 = 8;

/// The buffer being decoded plus the remaining decode budget.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    budget: Cell<u64>,
}

fn malformed(offset: usize, reason: impl Into<String>) -> FormatError {
    FormatError::Malformed {
        path: String::new(),
        offset,
        reason: reason.into(),
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        let budget = (buf.len() as u64)
            .saturating_mul(BUDGET_PER_FILE_BYTE)
            .saturating_add(BUDGET_BASE);
        Reader {
            buf,
            budget: Cell::new(budget),
        }
    }

    /// Charges `n` decoded bytes against the budget, before allocating them.
    pub(crate) fn charge(&self, n: u64, at: usize) -> Result<()> {
        let left = self.budget.get();
        if n > left {
            return Err(FormatError::LimitExceeded {
                path: format!("byte {at}"),
                what: "decoded bytes (shared or repeated objects?)",
                actual: n,
                limit: left,
            });
        }
        self.budget.set(left - n);
        Ok(())
    }

    fn bytes_at(&self, pos: usize, len: usize) -> Result<&'a [u8]> {
        pos.checked_add(len)
            .and_then(|end| self.buf.get(pos..end))
            .ok_or_else(|| malformed(pos, format!("{len} bytes run past the end of the file")))
    }

    pub(crate) fn u16_at(&self, pos: usize) -> Result<u16> {
        let b = self.bytes_at(pos, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32_at(&self, pos: usize) -> Result<u32> {
        let b = self.bytes_at(pos, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Follows the unsigned offset stored at `pos`.
    pub(crate) fn deref(&self, pos: usize) -> Result<usize> {
        if !pos.is_multiple_of(4) {
            return Err(malformed(pos, "misaligned offset"));
        }
        let rel = self.u32_at(pos)? as usize;
        let target = pos
            .checked_add(rel)
            .filter(|&t| t < self.buf.len())
            .ok_or_else(|| malformed(pos, "offset points past the end of the file"))?;
        Ok(target)
    }

    /// Reads the table that starts at `pos`.
    pub(crate) fn table<'r>(&'r self, pos: usize) -> Result<Table<'r, 'a>> {
        if !pos.is_multiple_of(4) {
            return Err(malformed(pos, "misaligned table"));
        }
        let soffset = self.u32_at(pos)? as i32 as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize >= self.buf.len() || vtable % 2 != 0 {
            return Err(malformed(pos, "vtable offset out of range"));
        }
        let vtable = vtable as usize;
        let vt_len = self.u16_at(vtable)? as usize;
        let table_len = self.u16_at(vtable + 2)? as usize;
        if vt_len < 4 || !vt_len.is_multiple_of(2) {
            return Err(malformed(vtable, "bad vtable size"));
        }
        self.bytes_at(vtable, vt_len)?;
        if table_len < 4 {
            return Err(malformed(pos, "table shorter than its vtable offset"));
        }
        self.bytes_at(pos, table_len)?;
        self.charge(TABLE_COST, pos)?;
        Ok(Table {
            r: self,
            pos,
            vtable,
            vt_len,
            table_len,
        })
    }

    /// Reads a vector header at `pos`: returns (first element position, count).
    pub(crate) fn vector(&self, pos: usize, elem_size: usize) -> Result<(usize, usize)> {
        if !pos.is_multiple_of(4) {
            return Err(malformed(pos, "misaligned vector"));
        }
        let len = self.u32_at(pos)? as usize;
        let start = pos + 4;
        let bytes = len
            .checked_mul(elem_size)
            .ok_or_else(|| malformed(pos, "vector length overflows"))?;
        self.bytes_at(start, bytes)?;
        if elem_size > 1 && !start.is_multiple_of(elem_size.min(8)) {
            return Err(malformed(pos, "misaligned vector elements"));
        }
        Ok((start, len))
    }
}

/// A verified view of one table: its vtable is in bounds, its fields are
/// checked as they are read.
#[derive(Clone, Copy)]
pub(crate) struct Table<'r, 'a> {
    r: &'r Reader<'a>,
    pub(crate) pos: usize,
    vtable: usize,
    vt_len: usize,
    table_len: usize,
}

/// A scalar that can live in a table field or a vector.
pub trait Scalar: Copy {
    const SIZE: usize;
    fn from_le(b: &[u8]) -> Self;
    fn to_le(self, out: &mut Vec<u8>);
}

macro_rules! scalar_impl {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
scalar_impl!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl Scalar for bool {
    const SIZE: usize = 1;
    fn from_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn to_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
}

impl<'r, 'a> Table<'r, 'a> {
    /// Position of field `id` inside the file, if present, checking that
    /// `size` bytes fit inside the table.
    fn field_pos(&self, id: u16, size: usize) -> Result<Option<usize>> {
        let slot = 4 + 2 * id as usize;
        if slot + 2 > self.vt_len {
            return Ok(None);
        }
        let off = self.r.u16_at(self.vtable + slot)? as usize;
        if off == 0 {
            return Ok(None);
        }
        if off < 4 || off + size > self.table_len {
            return Err(malformed(
                self.pos,
                format!("field {id} lies outside its table"),
            ));
        }
        let pos = self.pos + off;
        if size > 1 && !pos.is_multiple_of(size.min(8)) {
            return Err(malformed(pos, format!("field {id} is misaligned")));
        }
        Ok(Some(pos))
    }

    pub(crate) fn scalar<T: Scalar>(&self, id: u16, default: T) -> Result<T> {
        match self.field_pos(id, T::SIZE)? {
            None => Ok(default),
            Some(p) => Ok(T::from_le(self.r.bytes_at(p, T::SIZE)?)),
        }
    }

    /// Target position of an offset field.
    fn offset(&self, id: u16) -> Result<Option<usize>> {
        match self.field_pos(id, 4)? {
            None => Ok(None),
            Some(p) => self.r.deref(p).map(Some),
        }
    }

    pub(crate) fn table(&self, id: u16) -> Result<Option<Table<'r, 'a>>> {
        match self.offset(id)? {
            None => Ok(None),
            Some(p) => self.r.table(p).map(Some),
        }
    }

    pub(crate) fn bytes(&self, id: u16) -> Result<Option<&'a [u8]>> {
        match self.offset(id)? {
            None => Ok(None),
            Some(p) => {
                let (start, len) = self.r.vector(p, 1)?;
                Ok(Some(&self.r.buf[start..start + len]))
            }
        }
    }

    pub(crate) fn string(&self, id: u16) -> Result<Option<String>> {
        match self.offset(id)? {
            None => Ok(None),
            Some(p) => {
                let (start, len) = self.r.vector(p, 1)?;
                // The format requires a NUL terminator after the bytes.
                if self.r.buf.get(start + len) != Some(&0) {
                    return Err(malformed(p, "string is not NUL-terminated"));
                }
                self.r.charge(len as u64 + 1, p)?;
                let s = std::str::from_utf8(&self.r.buf[start..start + len])
                    .map_err(|_| malformed(p, "string is not valid UTF-8"))?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    pub(crate) fn scalars<T: Scalar>(&self, id: u16) -> Result<Option<Vec<T>>> {
        match self.offset(id)? {
            None => Ok(None),
            Some(p) => {
                let (start, len) = self.r.vector(p, T::SIZE)?;
                self.r.charge(len as u64 * T::SIZE as u64, p)?;
                let raw = &self.r.buf[start..start + len * T::SIZE];
                Ok(Some(raw.chunks_exact(T::SIZE).map(T::from_le).collect()))
            }
        }
    }

    /// Decodes a vector of tables with `f`, prefixing errors with `name[i]`.
    pub(crate) fn tables<T>(
        &self,
        id: u16,
        name: &str,
        mut f: impl FnMut(Table<'r, 'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let Some(p) = self.offset(id)? else {
            return Ok(Vec::new());
        };
        let (start, len) = self.r.vector(p, 4)?;
        // Elements may be shared tables: charge what the Vec holds.
        self.r
            .charge(len as u64 * std::mem::size_of::<T>() as u64, p)?;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            let item = self
                .r
                .deref(start + 4 * i)
                .and_then(|tp| self.r.table(tp))
                .and_then(&mut f)
                .map_err(|e| e.within(&format!("{name}[{i}]")))?;
            out.push(item);
        }
        Ok(out)
    }
}
