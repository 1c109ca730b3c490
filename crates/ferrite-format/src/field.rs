//! Reading and writing one table field by type, so option tables can be
//! declared as plain lists of typed fields.

use crate::builder::TableNode;
use crate::error::Result;
use crate::fb::{Scalar, Table};

pub(crate) trait Field: Sized + Clone {
    fn read(t: &Table<'_, '_>, id: u16, default: Self) -> Result<Self>;
    fn write(&self, t: &mut TableNode<'_>, id: u16, default: &Self);
}

macro_rules! scalar_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn read(t: &Table<'_, '_>, id: u16, default: Self) -> Result<Self> {
                t.scalar(id, default)
            }
            fn write(&self, t: &mut TableNode<'_>, id: u16, default: &Self) {
                t.scalar(id, *self, *default);
            }
        }
    )*};
}
scalar_field!(bool, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

/// Absent and empty vectors are kept apart so a rewrite changes nothing.
impl<T: Scalar + Clone> Field for Option<Vec<T>> {
    fn read(t: &Table<'_, '_>, id: u16, _default: Self) -> Result<Self> {
        t.scalars(id)
    }
    fn write(&self, t: &mut TableNode<'_>, id: u16, _default: &Self) {
        t.scalars(id, self.as_deref());
    }
}

impl Field for Option<String> {
    fn read(t: &Table<'_, '_>, id: u16, _default: Self) -> Result<Self> {
        t.string(id)
    }
    fn write(&self, t: &mut TableNode<'_>, id: u16, _default: &Self) {
        t.string(id, self.as_deref());
    }
}
