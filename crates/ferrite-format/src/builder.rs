//! FlatBuffers writing, laid out front to back.
//!
//! The model is first described as a tree of [`Node`]s, then emitted parent
//! before children so every unsigned offset points forward, as the format
//! requires. Vtables are deduplicated. The layout depends only on the tree, so
//! writing the same model twice gives the same bytes.

use std::collections::HashMap;

use crate::error::{FormatError, Result};
use crate::fb::Scalar;

/// One value to be written: a table, a vector, or a string.
pub(crate) enum Node<'a> {
    Table(TableNode<'a>),
    /// Raw little-endian vector elements; `elem` is the element size and
    /// `align` the alignment of the first element.
    Vector {
        data: std::borrow::Cow<'a, [u8]>,
        elem: usize,
        align: usize,
    },
    Str(String),
    Tables(Vec<TableNode<'a>>),
}

/// The fields of one table, by field id.
#[derive(Default)]
pub(crate) struct TableNode<'a> {
    fields: Vec<(u16, Slot<'a>)>,
}

enum Slot<'a> {
    Scalar(Vec<u8>),
    Child(Node<'a>),
}

impl<'a> TableNode<'a> {
    pub(crate) fn new() -> Self {
        TableNode { fields: Vec::new() }
    }

    /// Adds a scalar field unless it equals the schema default, as
    /// FlatBuffers builders do.
    pub(crate) fn scalar<T: Scalar + PartialEq>(&mut self, id: u16, v: T, default: T) {
        if v != default {
            let mut b = Vec::with_capacity(T::SIZE);
            v.to_le(&mut b);
            self.fields.push((id, Slot::Scalar(b)));
        }
    }

    /// Adds a scalar field even when it equals the default (union type tags).
    pub(crate) fn scalar_always<T: Scalar>(&mut self, id: u16, v: T) {
        let mut b = Vec::with_capacity(T::SIZE);
        v.to_le(&mut b);
        self.fields.push((id, Slot::Scalar(b)));
    }

    pub(crate) fn child(&mut self, id: u16, node: Node<'a>) {
        self.fields.push((id, Slot::Child(node)));
    }

    pub(crate) fn string(&mut self, id: u16, s: Option<&str>) {
        if let Some(s) = s {
            self.child(id, Node::Str(s.to_owned()));
        }
    }

    pub(crate) fn scalars<T: Scalar>(&mut self, id: u16, v: Option<&[T]>) {
        if let Some(v) = v {
            self.child(id, scalar_vector(v));
        }
    }

    pub(crate) fn tables(&mut self, id: u16, v: Vec<TableNode<'a>>) {
        self.child(id, Node::Tables(v));
    }
}

pub(crate) fn scalar_vector<'a, T: Scalar>(v: &[T]) -> Node<'a> {
    let mut data = Vec::with_capacity(v.len() * T::SIZE);
    for &x in v {
        x.to_le(&mut data);
    }
    Node::Vector {
        data: data.into(),
        elem: T::SIZE,
        align: T::SIZE.max(1),
    }
}

/// Emits a whole buffer with `root` as the root table and `ident` as the
/// 4-byte file identifier.
pub(crate) fn finish(root: TableNode<'_>, ident: &[u8; 4]) -> Result<Vec<u8>> {
    let mut e = Emitter {
        out: Vec::new(),
        vtables: HashMap::new(),
    };
    e.out.extend_from_slice(&[0; 4]);
    e.out.extend_from_slice(ident);
    let root_pos = e.table(root)?;
    e.patch(0, root_pos)?;
    if e.out.len() > i32::MAX as usize {
        return Err(FormatError::Write(
            "model exceeds 2 GiB; buffers stored outside the flatbuffer are not written yet".into(),
        ));
    }
    Ok(e.out)
}

struct Emitter {
    out: Vec<u8>,
    vtables: HashMap<Vec<u8>, usize>,
}

impl Emitter {
    fn pad_to(&mut self, align: usize, extra: usize) {
        while !(self.out.len() + extra).is_multiple_of(align) {
            self.out.push(0);
        }
    }

    /// Writes the forward offset from `slot` to `target` into `slot`.
    fn patch(&mut self, slot: usize, target: usize) -> Result<()> {
        let rel = u32::try_from(target - slot)
            .map_err(|_| FormatError::Write("offset exceeds 4 GiB".into()))?;
        self.out[slot..slot + 4].copy_from_slice(&rel.to_le_bytes());
        Ok(())
    }

    fn node(&mut self, node: Node<'_>) -> Result<usize> {
        match node {
            Node::Table(t) => self.table(t),
            Node::Str(s) => {
                self.pad_to(4, 0);
                let pos = self.out.len();
                self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                self.out.extend_from_slice(s.as_bytes());
                self.out.push(0);
                Ok(pos)
            }
            Node::Vector { data, elem, align } => {
                // The length prefix is 4-aligned and the elements `align`-aligned.
                self.pad_to(align.max(4), 4);
                let pos = self.out.len();
                let count = data.len() / elem.max(1);
                self.out.extend_from_slice(&(count as u32).to_le_bytes());
                self.out.extend_from_slice(&data);
                Ok(pos)
            }
            Node::Tables(items) => {
                self.pad_to(4, 0);
                let pos = self.out.len();
                self.out
                    .extend_from_slice(&(items.len() as u32).to_le_bytes());
                let first_slot = self.out.len();
                self.out.resize(first_slot + 4 * items.len(), 0);
                for (i, t) in items.into_iter().enumerate() {
                    let tp = self.table(t)?;
                    self.patch(first_slot + 4 * i, tp)?;
                }
                Ok(pos)
            }
        }
    }

    fn table(&mut self, t: TableNode<'_>) -> Result<usize> {
        // Inline layout: soffset first, then fields largest first so that each
        // lands aligned once the table start is aligned to the largest field.
        let size_of = |s: &Slot| match s {
            Slot::Scalar(b) => b.len(),
            Slot::Child(_) => 4,
        };
        let mut order: Vec<usize> = (0..t.fields.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(size_of(&t.fields[i].1)), t.fields[i].0));
        let table_align = t
            .fields
            .iter()
            .map(|f| size_of(&f.1))
            .max()
            .unwrap_or(4)
            .max(4);
        let mut offsets = vec![0u16; t.fields.iter().map(|f| f.0 as usize + 1).max().unwrap_or(0)];
        let mut cursor = 4usize;
        let mut placed = Vec::with_capacity(order.len());
        for &i in &order {
            let sz = size_of(&t.fields[i].1);
            cursor = cursor.div_ceil(sz) * sz;
            offsets[t.fields[i].0 as usize] = cursor as u16;
            placed.push((i, cursor));
            cursor += sz;
        }
        let table_len = cursor.div_ceil(table_align) * table_align;
        if table_len > u16::MAX as usize {
            return Err(FormatError::Write("table too large".into()));
        }
        let mut vt = Vec::with_capacity(4 + 2 * offsets.len());
        vt.extend_from_slice(&((4 + 2 * offsets.len()) as u16).to_le_bytes());
        vt.extend_from_slice(&(table_len as u16).to_le_bytes());
        for o in &offsets {
            vt.extend_from_slice(&o.to_le_bytes());
        }
        let vt_pos = match self.vtables.get(&vt) {
            Some(&p) => p,
            None => {
                self.pad_to(2, 0);
                let p = self.out.len();
                self.out.extend_from_slice(&vt);
                self.vtables.insert(vt, p);
                p
            }
        };
        self.pad_to(table_align, 0);
        let pos = self.out.len();
        self.out.resize(pos + table_len, 0);
        let soff = (pos - vt_pos) as i32;
        self.out[pos..pos + 4].copy_from_slice(&soff.to_le_bytes());
        let mut fields: Vec<Option<Slot>> = t.fields.into_iter().map(|f| Some(f.1)).collect();
        let mut children = Vec::new();
        for (i, at) in placed {
            match fields[i].take() {
                Some(Slot::Scalar(b)) => self.out[pos + at..pos + at + b.len()].copy_from_slice(&b),
                Some(Slot::Child(n)) => children.push((pos + at, n)),
                None => {}
            }
        }
        // Children follow their parent so every offset points forward.
        for (slot, n) in children {
            let cp = self.node(n)?;
            self.patch(slot, cp)?;
        }
        Ok(pos)
    }
}
