//! `ferrite run`: invoke a model on npz inputs, in order, on one interpreter.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ferrite::{Interpreter, Model, Options, TensorInfo};
use ferrite_npz::Array;

use crate::tensors::{describe, input_bytes, output_array, random_input, Rng};

/// Run a model on inputs from .npz files and save its outputs.
///
/// Every --input is one invoke; all invokes run in order on ONE interpreter,
/// so variables and hash tables carry over. The k-th --output receives the
/// k-th invoke's outputs. Npz keys are tensor names (e.g.
/// `serving_default_x:0`) or, with --signature, the signature's input and
/// output names; strings are numpy bytes (`S`) arrays. An input whose shape
/// differs from the model's is resized and the model replanned. Without
/// --input, one invoke runs on seeded random inputs and the outputs are
/// summarised.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The .tflite model.
    model: PathBuf,
    /// Worker threads for kernels (1 = run on the calling thread only).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Signature to run: once for every invoke, or once per --input in order.
    /// Without it the model's primary subgraph runs.
    #[arg(long = "signature", value_name = "KEY")]
    signatures: Vec<String>,
    /// An .npz file of inputs; repeat for several invokes.
    #[arg(long = "input", value_name = "IN.npz")]
    inputs: Vec<PathBuf>,
    /// Where to save the outputs of the invoke at the same position.
    #[arg(long = "output", value_name = "OUT.npz")]
    outputs: Vec<PathBuf>,
    /// Seed for the random inputs used when no --input is given.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The inputs and outputs of one invoke target, with their npz keys.
struct Target {
    signature: Option<String>,
    inputs: Vec<(String, TensorInfo)>,
    outputs: Vec<String>,
}

fn target(interp: &mut Interpreter, signature: Option<&str>) -> Result<Target> {
    Ok(match signature {
        Some(key) => {
            let runner = interp.signature(key)?;
            Target {
                signature: Some(key.to_string()),
                inputs: runner.inputs(),
                outputs: runner.outputs().into_iter().map(|(n, _)| n).collect(),
            }
        }
        None => Target {
            signature: None,
            inputs: interp
                .inputs()
                .into_iter()
                .map(|i| (i.name.clone(), i))
                .collect(),
            outputs: interp.outputs().into_iter().map(|o| o.name).collect(),
        },
    })
}

/// Finds the array for an input: by key, then by tensor name, then by the
/// positional `input_<i>` naming reference files use.
fn find<'a>(
    npz: &'a BTreeMap<String, Array>,
    key: &str,
    info: &TensorInfo,
    i: usize,
) -> Option<&'a Array> {
    npz.get(key)
        .or_else(|| npz.get(&info.name))
        .or_else(|| npz.get(&format!("input_{key}")))
        .or_else(|| npz.get(&format!("input_{i}")))
}

fn feed(
    interp: &mut Interpreter,
    t: &Target,
    arrays: Option<&BTreeMap<String, Array>>,
    rng: &mut Rng,
) -> Result<()> {
    for (i, (key, info)) in t.inputs.iter().enumerate() {
        let (shape, bytes) = match arrays {
            Some(npz) => {
                let a = find(npz, key, info, i).with_context(|| {
                    let keys: Vec<&String> = npz.keys().collect();
                    format!("the npz has no array for input '{key}' (it has {keys:?})")
                })?;
                (a.shape.clone(), input_bytes(info, a, key)?)
            }
            None => (info.shape.clone(), random_input(info, rng)?),
        };
        match &t.signature {
            Some(sig) => {
                let mut r = interp.signature(sig)?;
                if shape != info.shape {
                    r.resize_input(key, &shape)?;
                }
                r.set_input_bytes(key, &bytes)?;
            }
            None => {
                if shape != info.shape {
                    interp.resize_input(i, &shape)?;
                }
                interp.set_input_bytes(i, &bytes)?;
            }
        }
    }
    Ok(())
}

fn invoke(interp: &mut Interpreter, t: &Target) -> Result<()> {
    match &t.signature {
        Some(sig) => interp.signature(sig)?.invoke()?,
        None => interp.invoke()?,
    }
    Ok(())
}

fn collect_outputs(interp: &mut Interpreter, t: &Target) -> Result<Vec<(String, Array)>> {
    let mut out = Vec::new();
    match &t.signature {
        Some(sig) => {
            let r = interp.signature(sig)?;
            for name in &t.outputs {
                out.push((name.clone(), output_array(&r.output(name)?)?));
            }
        }
        None => {
            for (i, name) in t.outputs.iter().enumerate() {
                out.push((name.clone(), output_array(&interp.output(i)?)?));
            }
        }
    }
    Ok(out)
}

fn summarize(interp: &mut Interpreter, t: &Target, out: &mut dyn Write) -> Result<()> {
    match &t.signature {
        Some(sig) => {
            let r = interp.signature(sig)?;
            for name in &t.outputs {
                writeln!(out, "  {}", describe(&r.output(name)?))?;
            }
        }
        None => {
            for i in 0..t.outputs.len() {
                writeln!(out, "  {}", describe(&interp.output(i)?))?;
            }
        }
    }
    Ok(())
}

/// Writes through a temporary file so a failed write leaves nothing behind.
fn write_atomically(path: &Path, arrays: &[(String, Array)]) -> Result<()> {
    let tmp = path.with_extension("npz.partial");
    ferrite_npz::write_npz(&tmp, arrays)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move output into {}", path.display()))?;
    Ok(())
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<()> {
    let invokes = args.inputs.len().max(1);
    if args.outputs.len() > invokes {
        bail!(
            "{} --output files for {invokes} invoke(s)",
            args.outputs.len()
        );
    }
    if args.signatures.len() > 1 && args.signatures.len() != args.inputs.len() {
        bail!(
            "--signature must be given once, or once per --input ({} given for {} inputs)",
            args.signatures.len(),
            args.inputs.len()
        );
    }
    let model = Model::load(&args.model).with_context(|| args.model.display().to_string())?;
    let mut interp = Interpreter::new(
        &model,
        Options {
            threads: args.threads,
            ..Options::default()
        },
    )?;
    let mut rng = Rng::new(args.seed);
    for k in 0..invokes {
        let sig = args
            .signatures
            .get(if args.signatures.len() == 1 { 0 } else { k });
        let t = target(&mut interp, sig.map(String::as_str))?;
        let arrays = match args.inputs.get(k) {
            Some(path) => Some(
                ferrite_npz::read_npz(path)?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
            ),
            None => None,
        };
        let ctx = || match args.inputs.get(k) {
            Some(p) => format!("invoke {} ({})", k + 1, p.display()),
            None => "invoke with random inputs".to_string(),
        };
        feed(&mut interp, &t, arrays.as_ref(), &mut rng).with_context(ctx)?;
        invoke(&mut interp, &t).with_context(ctx)?;
        if let Some(path) = args.outputs.get(k) {
            let arrays = collect_outputs(&mut interp, &t)?;
            write_atomically(path, &arrays)?;
        }
        if args.inputs.is_empty() {
            writeln!(out, "outputs (random inputs, seed {}):", args.seed)?;
            summarize(&mut interp, &t, out)?;
        }
    }
    if !args.inputs.is_empty() {
        writeln!(out, "ran {invokes} invoke(s)")?;
    }
    Ok(())
}
