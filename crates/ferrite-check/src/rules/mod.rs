//! Applies one target's rules to a model's facts.

use crate::facts::Facts;
use crate::report::{Finding, Severity};
use crate::target::{Imported, Target};

mod model;
mod ops;

/// What one evaluation shares: the facts, the target, which subgraphs the
/// target looks at and which of those run at invoke time.
pub(crate) struct Ctx<'a, 'm> {
    pub facts: &'a Facts<'m>,
    pub target: &'a Target,
    /// Subgraphs the target loads (all, or subgraph 0 and its callees).
    pub scope: Vec<bool>,
    /// Subgraphs run by an invoke, not only through CALL_ONCE.
    pub runtime: Vec<bool>,
    /// The subgraphs a caller can enter.
    pub roots: Vec<usize>,
    pub out: Vec<Finding>,
}

impl Ctx<'_, '_> {
    pub fn in_scope(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.scope.len()).filter(|&s| self.scope[s])
    }

    /// Only reached through CALL_ONCE: runs once, before any invoke.
    pub fn init_only(&self, s: usize) -> bool {
        self.scope[s] && !self.runtime[s]
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        severity: Severity,
        at: (Option<usize>, Option<usize>),
        tensor: Option<String>,
        kind: &'static str,
        message: String,
        fix: String,
        source: &str,
    ) {
        let op = match at {
            (Some(s), Some(i)) => Some(self.facts.ops[s][i].name.clone()),
            _ => None,
        };
        self.out.push(Finding {
            severity,
            subgraph: at.0,
            op_index: at.1,
            op,
            tensor,
            kind,
            message,
            fix,
            source: source.to_string(),
        });
    }

    /// An error or warning about op `i` of subgraph `s`.
    #[allow(clippy::too_many_arguments)]
    pub fn op(
        &mut self,
        severity: Severity,
        s: usize,
        i: usize,
        kind: &'static str,
        message: String,
        fix: String,
        source: &str,
    ) {
        self.push(
            severity,
            (Some(s), Some(i)),
            None,
            kind,
            message,
            fix,
            source,
        );
    }
}

pub(crate) fn evaluate(facts: &Facts<'_>, target: &Target) -> Vec<Finding> {
    let n = facts.ops.len();
    let (scope, roots) = match target.subgraphs.imported {
        Imported::All => (vec![true; n], facts.entries.clone()),
        Imported::Primary => (facts.reachable(&[0], false), vec![0]),
    };
    let mut cx = Ctx {
        facts,
        target,
        runtime: facts.reachable(&roots, true),
        scope,
        roots,
        out: Vec::new(),
    };
    ops::check(&mut cx);
    model::check(&mut cx);
    cx.out
}

/// Plans the model with ferrite's interpreter: catches dtypes and options
/// its kernels reject, which the op list cannot show. An error at an op
/// that already has an error finding adds nothing.
pub(crate) fn plan_with_ferrite(bytes: &[u8], target: &Target, out: &mut Vec<Finding>) {
    let result = ferrite::Model::from_bytes(bytes.to_vec()).and_then(|m| {
        ferrite::Interpreter::with_resolver(&m, Default::default(), &target.resolver)
    });
    let Err(e) = result else { return };
    let loc = e.location();
    let known = out.iter().any(|f| {
        f.severity == Severity::Error
            && loc.op_index.is_some()
            && f.subgraph == loc.subgraph
            && f.op_index == loc.op_index
    });
    if known {
        return;
    }
    let fix = match e.kind() {
        ferrite::ErrorKind::Unsupported => {
            "ferrite has no kernel for this op, dtype or option yet; the other targets show where the model runs today (e.g. --target litert)"
        }
        _ => "the model is rejected when ferrite plans it; check the op's inputs and options",
    };
    out.push(Finding {
        severity: Severity::Error,
        subgraph: loc.subgraph,
        op_index: loc.op_index,
        op: loc.op.clone(),
        tensor: loc.tensor.clone(),
        kind: "plan",
        message: format!("planning with ferrite::Interpreter::new fails: {e}"),
        fix: fix.to_string(),
        source: target.ops.source.clone(),
    });
}
