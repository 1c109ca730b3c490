//! Which builder runs which builtin operator, by schema name and version
//! range. Each family module lists its ops in an `OPS` table; adding an op
//! is its file in the family plus one line in that table.

use crate::api::Builder;

pub struct Registration {
    pub op: &'static str,
    pub min_version: i32,
    pub max_version: i32,
    pub build: Builder,
}

pub const fn reg(
    op: &'static str,
    min_version: i32,
    max_version: i32,
    build: Builder,
) -> Registration {
    Registration {
        op,
        min_version,
        max_version,
        build,
    }
}

/// Every family's table.
pub static FAMILIES: &[&[Registration]] = &[
    crate::activation::OPS,
    crate::conv::OPS,
    crate::elementwise::OPS,
    crate::image::OPS,
    crate::linalg::OPS,
    crate::pool::OPS,
    crate::quant::OPS,
    crate::reduce::OPS,
    crate::rnn::OPS,
    crate::shape::OPS,
];

/// A kernel for an op named by a string, not a builtin code.
pub struct NamedRegistration {
    pub name: &'static str,
    pub build: Builder,
}

pub const fn named(name: &'static str, build: Builder) -> NamedRegistration {
    NamedRegistration { name, build }
}

/// TensorFlow ops by their TF name. They arrive as Flex ops
/// (`Flex<Name>`, attributes from the NodeDef) or, from `allow_custom_ops`,
/// as custom ops of the same name (attributes from a flexbuffer map), and
/// run with the same kernels either way.
pub static TF_FAMILIES: &[&[NamedRegistration]] =
    &[crate::tf::fractional_pool::OPS, crate::tf::linalg::OPS];

/// Third-party custom ops by custom code (TFLite_Detection_PostProcess,
/// MediaPipe's ops, ...).
pub static CUSTOM_FAMILIES: &[&[NamedRegistration]] = &[];

/// Every registration of a named-op table such as [`TF_FAMILIES`].
pub fn named_in(
    families: &'static [&'static [NamedRegistration]],
) -> impl Iterator<Item = &'static NamedRegistration> {
    families.iter().flat_map(|f| f.iter())
}

fn find_named(families: &'static [&'static [NamedRegistration]], name: &str) -> Option<Builder> {
    named_in(families).find(|r| r.name == name).map(|r| r.build)
}

/// The kernel of TensorFlow op `tf_op`, if ferrite has one.
pub fn lookup_tf(tf_op: &str) -> Option<Builder> {
    find_named(TF_FAMILIES, tf_op)
}

/// The kernel of a non-Flex custom op: a third-party op, else a TensorFlow
/// op of that name.
pub fn lookup_custom(code: &str) -> Option<Builder> {
    find_named(CUSTOM_FAMILIES, code).or_else(|| lookup_tf(code))
}

/// All registrations.
pub fn all() -> impl Iterator<Item = &'static Registration> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// What the registry knows about an operator at a version.
pub enum Lookup {
    Found(Builder),
    /// The op has kernels, but not for this version.
    VersionUnsupported {
        supported: (i32, i32),
    },
    NotFound,
}

pub fn lookup(op: &str, version: i32) -> Lookup {
    let mut range = None;
    for r in all().filter(|r| r.op == op) {
        if (r.min_version..=r.max_version).contains(&version) {
            return Lookup::Found(r.build);
        }
        range = Some((r.min_version, r.max_version));
    }
    match range {
        Some(supported) => Lookup::VersionUnsupported { supported },
        None => Lookup::NotFound,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_op_is_registered_twice_for_overlapping_versions() {
        let regs: Vec<_> = super::all().collect();
        for (i, a) in regs.iter().enumerate() {
            for b in &regs[i + 1..] {
                let overlap = a.min_version <= b.max_version && b.min_version <= a.max_version;
                assert!(!(a.op == b.op && overlap), "{} registered twice", a.op);
            }
        }
    }

    #[test]
    fn no_named_op_is_registered_twice() {
        for families in [super::TF_FAMILIES, super::CUSTOM_FAMILIES] {
            let names: Vec<_> = families
                .iter()
                .flat_map(|f| f.iter())
                .map(|r| r.name)
                .collect();
            for (i, a) in names.iter().enumerate() {
                assert!(!names[i + 1..].contains(a), "{a} registered twice");
            }
        }
    }
}
