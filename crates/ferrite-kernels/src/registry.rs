//! Which builder runs which builtin operator, by schema name and version
//! range. Each family module lists its ops in an `OPS` table; adding an op
//! is its file in the family plus one line in that table.

use std::sync::Arc;

use crate::api::{Builder, KResult, Kernel, OpSpec};

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
pub static TF_FAMILIES: &[&[NamedRegistration]] = &[
    crate::tf::bincount::OPS,
    crate::tf::fractional_pool::OPS,
    crate::tf::linalg::OPS,
    crate::tf::ragged_to_tensor::OPS,
    crate::tf::special_math::OPS,
    crate::tf::string_length::OPS,
    crate::tf::string_hash::OPS,
    crate::tf::string_split::OPS,
];

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

/// A builder that carries state: a custom op registered at run time.
pub type DynBuilder = Arc<dyn Fn(&OpSpec<'_>) -> KResult<Box<dyn Kernel>> + Send + Sync>;

/// A builder found by name: from a static table or registered at run time.
#[derive(Clone)]
pub enum NamedBuilder {
    Static(Builder),
    Dyn(DynBuilder),
}

impl NamedBuilder {
    pub fn build(&self, spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
        match self {
            NamedBuilder::Static(b) => b(spec),
            NamedBuilder::Dyn(b) => b(spec),
        }
    }
}

/// The registry the planner resolves every op through: the static tables
/// (builtins, TF ops, third-party custom ops) plus custom ops registered
/// at run time, which win over a static custom op of the same name.
#[derive(Clone, Default)]
pub struct OpRegistry {
    custom: Vec<(String, DynBuilder)>,
}

impl OpRegistry {
    /// Registers custom op `name`, replacing an earlier registration.
    pub fn register(&mut self, name: impl Into<String>, build: DynBuilder) {
        let name = name.into();
        self.custom.retain(|(n, _)| *n != name);
        self.custom.push((name, build));
    }

    /// The builtin op `op` at `version`.
    pub fn builtin(&self, op: &str, version: i32) -> Lookup {
        lookup(op, version)
    }

    /// The kernel of TensorFlow op `tf_op` (a Flex op).
    pub fn tf(&self, tf_op: &str) -> Option<NamedBuilder> {
        lookup_tf(tf_op).map(NamedBuilder::Static)
    }

    /// The kernel of non-Flex custom op `code`.
    pub fn custom(&self, code: &str) -> Option<NamedBuilder> {
        match self.custom.iter().find(|(n, _)| n == code) {
            Some((_, b)) => Some(NamedBuilder::Dyn(Arc::clone(b))),
            None => lookup_custom(code).map(NamedBuilder::Static),
        }
    }

    /// The custom codes registered at run time, in registration order.
    pub fn registered(&self) -> impl Iterator<Item = &str> {
        self.custom.iter().map(|(n, _)| n.as_str())
    }
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
    fn registered_custom_ops_resolve_and_replace() {
        use crate::api::unsupported;
        let mut reg = super::OpRegistry::default();
        assert!(reg.custom("MyOp").is_none());
        reg.register("MyOp", std::sync::Arc::new(|_| unsupported("first")));
        reg.register("MyOp", std::sync::Arc::new(|_| unsupported("second")));
        assert_eq!(reg.registered().collect::<Vec<_>>(), ["MyOp"]);
        let spec = crate::api::OpSpec {
            code: 32,
            name: "MyOp",
            version: 1,
            options: &crate::api::BuiltinOptions::None,
            options2: &crate::api::BuiltinOptions2::None,
            custom_options: None,
            attrs: &[],
            inputs: &[],
            outputs: &[],
        };
        let err = reg.custom("MyOp").unwrap().build(&spec).err().unwrap();
        assert_eq!(err.to_string(), "unsupported: second");
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
