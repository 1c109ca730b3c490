//! Findings and per-target verdicts, serialisable as `ferrite check --json`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem (error) or caveat (warning) of a model on a target.
/// Model-level findings have no subgraph, op index or op.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub subgraph: Option<usize>,
    pub op_index: Option<usize>,
    pub op: Option<String>,
    pub tensor: Option<String>,
    /// A stable identifier of the rule, e.g. `unsupported-op`, `flex-op`.
    pub kind: &'static str,
    pub message: String,
    pub fix: String,
    /// The public source of the rule (file and, where known, commit).
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub target: String,
    /// True when no finding is an error.
    pub runnable: bool,
    pub findings: Vec<Finding>,
}

impl TargetReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Whether some error finding is of `kind`.
    pub fn has_error(&self, kind: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.kind == kind)
    }
}

/// `ferrite check --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub model: String,
    pub targets: Vec<TargetReport>,
}
