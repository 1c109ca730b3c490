//! Will a `.tflite` model run on a given runtime? `check` answers before
//! deployment, per target: unsupported ops and op versions, Flex and custom
//! ops, hash tables, resource variables, dynamic shapes, quantization,
//! strings and dtypes, each finding with a location, an explanation, a fix
//! and the public source of the rule behind it.

mod facts;
mod report;
mod rules;
mod target;

pub use report::{Finding, Report, Severity, TargetReport};
pub use target::{
    dtype_named, parse_op_line, DynamicShapes, FindRule, FlexMode, HybridRule, Imported, Invoked,
    OpEntry, Scope, StringSupport, Target, TARGET_NAMES,
};

/// Why a check could not run at all (as opposed to a model that does not
/// run on a target, which is a finding).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("unknown target '{0}' (known: {known}, or ops:FILE)", known = TARGET_NAMES.join(", "))]
    UnknownTarget(String),
    #[error("ops list {path}: {reason}")]
    OpsFile { path: String, reason: String },
    #[error(transparent)]
    Model(#[from] ferrite_format::FormatError),
}

/// Checks the model in `bytes` against each target, in order.
pub fn check(bytes: &[u8], targets: &[Target]) -> Result<Vec<TargetReport>, CheckError> {
    let model = ferrite_format::Model::parse(bytes)?;
    let facts = facts::Facts::new(&model);
    Ok(targets
        .iter()
        .map(|t| {
            let mut findings = rules::evaluate(&facts, t);
            if t.plan_with_ferrite {
                rules::plan_with_ferrite(bytes, t, &mut findings);
            }
            TargetReport {
                target: t.name.clone(),
                runnable: !findings.iter().any(|f| f.severity == Severity::Error),
                findings,
            }
        })
        .collect())
}
