//! `ferrite check`: will this model run on the runtimes it is deployed to?

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use ferrite_check::{CheckError, Finding, Report, Severity, Target, TargetReport};
use ferrite_format::ModelBytes;

const AFTER_HELP: &str = "\
Targets (repeat --target for several; default: ferrite):
  ferrite       this build: its kernel registry and interpreter-run ops; the
                model is also planned with ferrite::Interpreter::new
  litert        LiteRT (TF 2.21 era) builtin op resolver, no Flex delegate
  litert-flex   the same with the Select TF ops (Flex) delegate linked
  tflite-micro  TensorFlow Lite for Microcontrollers, all kernels registered
  tvm-relax     Apache TVM's Relax TFLite frontend (from_tflite)
  ops:FILE      a reduced LiteRT build registering only the ops in FILE: one
                op per line, `NAME` or `NAME min-max`, `#` comments; names
                that are not builtin operators are custom codes

Every rule comes from a data file under targets/ that names its public
source; --json reports it with each finding.

Exit status: 0 when every target can run the model, 1 when one cannot,
2 on a usage error or an unreadable or malformed model.";

/// Check whether a model can run on given runtimes, before deployment
///
/// Reports, per target, unsupported ops and op versions, Flex ops (which
/// TensorFlow op, and whether ferrite runs it natively), custom ops that
/// need registering, hash tables, resource variables written at run time,
/// dynamic shapes and where they flow, quantization, string tensors and
/// dtypes the target lacks. Each finding has a severity, a location, an
/// explanation and a concrete fix; errors make the target unable to run
/// the model, warnings are caveats.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The .tflite model to check.
    pub model: PathBuf,
    /// A target to check against (see below); repeatable.
    #[arg(long = "target", value_name = "T", value_parser = parse_target)]
    pub targets: Vec<Target>,
    /// Print one JSON object instead of the table:
    /// {"model", "targets": [{"target", "runnable", "findings": [...]}]}.
    #[arg(long)]
    pub json: bool,
}

fn parse_target(spec: &str) -> Result<Target, String> {
    Target::from_spec(spec).map_err(|e| e.to_string())
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let targets = if args.targets.is_empty() {
        vec![Target::builtin("ferrite").expect("ferrite target")]
    } else {
        args.targets
    };
    let path = args.model.display().to_string();
    let bytes = ModelBytes::map(&args.model)?;
    let reports = match ferrite_check::check(&bytes, &targets) {
        Ok(r) => r,
        // Keep the FormatError itself in the chain: it means exit status 2.
        Err(CheckError::Model(e)) => return Err(anyhow::Error::new(e).context(path)),
        Err(e) => return Err(e).context(path),
    };
    let report = Report {
        model: path,
        targets: reports,
    };
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        table(&report, out)?;
    }
    let failing: Vec<&str> = report
        .targets
        .iter()
        .filter(|t| !t.runnable)
        .map(|t| t.target.as_str())
        .collect();
    if !failing.is_empty() {
        // The verdict goes to stderr; keep the report ahead of it.
        out.flush()?;
        bail!("the model cannot run on: {}", failing.join(", "));
    }
    Ok(())
}

fn table(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "model  {}\n", report.model)?;
    let width = report
        .targets
        .iter()
        .map(|t| t.target.len())
        .max()
        .unwrap_or(0)
        .max(6);
    writeln!(
        out,
        "{:width$}  {:12}  {:>6}  {:>8}",
        "target", "verdict", "errors", "warnings"
    )?;
    for t in &report.targets {
        let verdict = if t.runnable {
            "runnable"
        } else {
            "NOT RUNNABLE"
        };
        writeln!(
            out,
            "{:width$}  {verdict:12}  {:>6}  {:>8}",
            t.target,
            t.errors(),
            t.warnings()
        )?;
    }
    for t in report.targets.iter().filter(|t| !t.findings.is_empty()) {
        findings(t, out)?;
    }
    Ok(())
}

fn location(f: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(s) = f.subgraph {
        parts.push(format!("subgraph {s}"));
    }
    if let Some(i) = f.op_index {
        parts.push(format!("op {i}"));
    }
    if let Some(op) = &f.op {
        parts.push(op.clone());
    }
    if parts.is_empty() {
        "model".into()
    } else {
        parts.join(" ")
    }
}

/// Findings of one target; repeats of the same problem (same severity,
/// kind, op and fix) are shown once with a count.
fn findings(t: &TargetReport, out: &mut dyn Write) -> std::io::Result<()> {
    let verdict = if t.runnable {
        "runnable"
    } else {
        "not runnable"
    };
    writeln!(out, "\n{}: {verdict}", t.target)?;
    let mut groups: Vec<(&Finding, usize)> = Vec::new();
    let mut sorted: Vec<&Finding> = t.findings.iter().collect();
    sorted.sort_by_key(|f| f.severity);
    for f in sorted {
        let same = |g: &&mut (&Finding, usize)| {
            g.0.severity == f.severity && g.0.kind == f.kind && g.0.op == f.op && g.0.fix == f.fix
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.1 += 1,
            None => groups.push((f, 1)),
        }
    }
    for (f, n) in groups {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let more = if n > 1 {
            format!("  (and {} more like it)", n - 1)
        } else {
            String::new()
        };
        writeln!(out, "  {sev:7}  {}{more}", location(f))?;
        writeln!(out, "           {}", f.message)?;
        writeln!(out, "           fix: {}", f.fix)?;
    }
    Ok(())
}
