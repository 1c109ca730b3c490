//! `ferrite bench`: latency percentiles and peak memory of one model.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ferrite::{Interpreter, Model, Options};
use serde::Serialize;

use crate::tensors::{random_input, Rng};

/// Time a model on seeded random inputs.
///
/// Loads and plans the model, runs one first invoke, then W warm-up and R
/// timed invokes, and reports load time, first-invoke time, median, p90 and
/// min latency and the peak resident memory of the process.
///
/// A model with resizable inputs runs at its default input shapes unless
/// --input-shape sets them (NAME is a tensor name or a signature input
/// name); one whose default shapes cannot be planned needs it.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The .tflite model.
    model: PathBuf,
    /// Worker threads for kernels (1 = run on the calling thread only).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Untimed invokes after the first one.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Timed invokes.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also time every op over the timed runs and print where the time goes
    /// (per op type and the slowest single ops).
    #[arg(long)]
    profile: bool,
    /// Run with an input of this shape, e.g. x=1,1280; repeat for several.
    #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = crate::freeze::parse_shape)]
    input_shapes: Vec<(String, Vec<usize>)>,
}

/// Position among the primary inputs of the input `name`: a tensor name,
/// or a signature input name of a signature that runs the primary subgraph.
fn input_position(model: &Model, interp: &Interpreter, name: &str) -> Result<usize> {
    if let Some(i) = interp.input_index(name) {
        return Ok(i);
    }
    let graph = model.graph();
    let tensor = graph
        .signatures
        .iter()
        .filter(|s| s.subgraph == 0)
        .flat_map(|s| &s.inputs)
        .find(|(n, _)| n == name)
        .map(|&(_, t)| &graph.subgraphs[0].tensors[t].name);
    match tensor.and_then(|t| interp.input_index(t)) {
        Some(i) => Ok(i),
        None => {
            let names: Vec<String> = interp.inputs().into_iter().map(|i| i.name).collect();
            bail!("--input-shape: the model has no input '{name}' (inputs: {names:?})")
        }
    }
}

#[derive(Serialize)]
struct Report {
    model: String,
    threads: usize,
    runs: usize,
    warmup: usize,
    load_ms: f64,
    first_invoke_ms: f64,
    median_ms: f64,
    p90_ms: f64,
    min_ms: f64,
    max_ms: f64,
    mean_ms: f64,
    peak_rss_bytes: u64,
    tensor_memory_bytes: usize,
}

/// Peak resident set size of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Value at quantile `q` of sorted `v` (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    let idx = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[idx]
}

struct Progress {
    tty: bool,
    total: usize,
    shown: usize,
}

impl Progress {
    fn update(&mut self, done: usize) {
        // On a terminal redraw a bar; in logs print every quarter.
        if self.tty {
            let width = 30;
            let filled = done * width / self.total.max(1);
            eprint!(
                "\r[{}{}] {done}/{}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
            if done == self.total {
                eprintln!();
            }
        } else if done * 4 / self.total.max(1) > self.shown || done == self.total {
            self.shown = done * 4 / self.total.max(1);
            eprintln!("bench: {done}/{} invokes", self.total);
        }
    }
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let start = Instant::now();
    let model = Model::load(&args.model).with_context(|| args.model.display().to_string())?;
    let mut interp = Interpreter::new(
        &model,
        Options {
            threads: args.threads,
            profile: args.profile,
            ..Options::default()
        },
    )?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    for (name, dims) in &args.input_shapes {
        let i = input_position(&model, &interp, name)?;
        interp
            .resize_input(i, dims)
            .with_context(|| format!("--input-shape {name}"))?;
    }
    let mut rng = Rng::new(0);
    for (i, info) in interp.inputs().iter().enumerate() {
        let data = random_input(info, &mut rng)?;
        interp.set_input_bytes(i, &data)?;
    }
    let t = Instant::now();
    interp.invoke().with_context(|| {
        if args.input_shapes.is_empty() {
            "first invoke (--input-shape NAME=DIMS sets the shape of a resizable input)"
        } else {
            "first invoke"
        }
    })?;
    let first_invoke_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        total: args.warmup + args.runs,
        shown: 0,
    };
    for i in 0..args.warmup {
        interp.invoke()?;
        progress.update(i + 1);
    }
    interp.clear_profile();
    let mut times = Vec::with_capacity(args.runs);
    for i in 0..args.runs {
        let t = Instant::now();
        interp.invoke()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        progress.update(args.warmup + i + 1);
    }
    let mean_ms = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    let report = Report {
        model: args.model.display().to_string(),
        threads: interp_threads(&args),
        runs: args.runs,
        warmup: args.warmup,
        load_ms,
        first_invoke_ms,
        median_ms: quantile(&times, 0.5),
        p90_ms: quantile(&times, 0.9),
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        mean_ms,
        peak_rss_bytes: peak_rss(),
        tensor_memory_bytes: interp.resident_bytes(),
    };
    let profile = interp.profile();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(out, "model           {}", report.model)?;
        writeln!(out, "threads         {}", report.threads)?;
        writeln!(out, "load            {:.2} ms", report.load_ms)?;
        writeln!(out, "first invoke    {:.2} ms", report.first_invoke_ms)?;
        writeln!(
            out,
            "median          {:.3} ms  ({} runs after {} warm-up)",
            report.median_ms, report.runs, report.warmup
        )?;
        writeln!(out, "p90             {:.3} ms", report.p90_ms)?;
        writeln!(out, "min             {:.3} ms", report.min_ms)?;
        writeln!(
            out,
            "peak RSS        {:.1} MiB",
            report.peak_rss_bytes as f64 / (1 << 20) as f64
        )?;
        writeln!(
            out,
            "tensor memory   {:.1} MiB",
            report.tensor_memory_bytes as f64 / (1 << 20) as f64
        )?;
    }
    if args.profile && !args.json {
        print_profile(&profile, args.runs, out)?;
    }
    Ok(())
}

fn interp_threads(args: &Args) -> usize {
    args.threads.max(1)
}

/// Where the time went: per op type, then the slowest single ops, in ms
/// per invoke.
fn print_profile(profile: &[ferrite::OpProfile], runs: usize, out: &mut dyn Write) -> Result<()> {
    let per_invoke = |d: std::time::Duration| d.as_secs_f64() * 1e3 / runs as f64;
    let total: f64 = profile.iter().map(|p| per_invoke(p.total)).sum();
    let mut by_type: std::collections::BTreeMap<&str, (usize, f64)> = Default::default();
    for p in profile {
        let e = by_type.entry(&p.op).or_default();
        e.0 += 1;
        e.1 += per_invoke(p.total);
    }
    let mut types: Vec<_> = by_type.into_iter().collect();
    types.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
    writeln!(out, "\nper op type (ms per invoke)")?;
    for (name, (count, ms)) in &types {
        writeln!(
            out,
            "  {name:<28} {count:>4} ops {ms:>9.3} ms {:>5.1}%",
            100.0 * ms / total.max(1e-12)
        )?;
    }
    writeln!(out, "\nslowest ops (ms per invoke)")?;
    for p in profile.iter().take(10) {
        writeln!(
            out,
            "  subgraph {} op {:<4} {:<24} {:>9.3} ms",
            p.subgraph,
            p.op_index,
            p.op,
            per_invoke(p.total)
        )?;
    }
    Ok(())
}
