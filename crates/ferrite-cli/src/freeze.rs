//! `ferrite freeze`: fold CALL_ONCE-initialised variables into constants and
//! pin dynamic input shapes.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use ferrite_format::{Model, ModelBytes};
use ferrite_freeze::{FreezeError, Options};

use crate::rewrite::write_atomically;

/// Fold statically initialised variables into constants
///
/// Resource variables that only CALL_ONCE initialisation assigns (with
/// values computable there: constants, or ops over constants, evaluated
/// with ferrite's interpreter) become constant tensors; their VAR_HANDLE,
/// READ_VARIABLE and ASSIGN_VARIABLE ops and the emptied CALL_ONCE and init
/// subgraph are removed, as are unused buffers and operator codes. Tools
/// that accept only constants (such as TVM's importer) can then take it.
///
/// A variable assigned outside initialisation (streaming state, or a setter
/// signature) has no constant value: the model is refused with exit code 1,
/// naming the variable and the op, and OUT is not written.
///
/// --input-shape pins a dynamic input (NAME is a tensor name or a signature
/// input name) and writes the inferred concrete shape of every tensor.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The .tflite model to read.
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// Where to write the frozen model (may equal IN).
    #[arg(value_name = "OUT")]
    output: PathBuf,
    /// Pin an input's shape, e.g. x=1,224,224,3; repeat for several inputs.
    #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
    input_shapes: Vec<(String, Vec<usize>)>,
}

pub(crate) fn parse_shape(s: &str) -> Result<(String, Vec<usize>), String> {
    let (name, dims) = s
        .rsplit_once('=')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| format!("'{s}' is not NAME=DIMS (e.g. x=1,224,224,3)"))?;
    let dims = if dims.trim().is_empty() {
        Vec::new()
    } else {
        dims.split(',')
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("'{dims}' is not a comma-separated list of sizes: {e}"))?
    };
    Ok((name.to_string(), dims))
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes = ModelBytes::map(&args.input)?;
    let model = Model::parse(&bytes).with_context(|| args.input.display().to_string())?;
    let options = Options {
        input_shapes: args.input_shapes,
    };
    let frozen = ferrite_freeze::freeze(&model, &options).map_err(|e| {
        let note = format!("{} was not written", args.output.display());
        match e {
            // Findings read better one per line.
            FreezeError::Refused(findings) => anyhow!(
                "cannot freeze {}: {}; {note}",
                args.input.display(),
                findings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            e => anyhow!(e).context(format!("cannot freeze {} ({note})", args.input.display())),
        }
    })?;
    write_atomically(&args.output, &frozen.bytes)?;
    let r = &frozen.report;
    if r.variables.is_empty() {
        writeln!(out, "no resource variables to freeze")?;
    }
    for v in &r.variables {
        writeln!(
            out,
            "froze variable \"{}\" {} {:?} into {} read(s)",
            v.shared_name, v.dtype, v.shape, v.reads
        )?;
    }
    for p in &r.pinned {
        writeln!(
            out,
            "pinned input '{}' of subgraph {} to {:?}",
            p.tensor, p.subgraph, p.shape
        )?;
    }
    if r.still_dynamic > 0 {
        writeln!(
            out,
            "{} tensor(s) keep data-dependent shapes",
            r.still_dynamic
        )?;
    }
    writeln!(
        out,
        "removed {} op(s), {} subgraph(s) {:?}, {} buffer(s), {} operator code(s)",
        r.removed_ops,
        r.removed_subgraphs.len(),
        r.removed_subgraphs,
        r.removed_buffers,
        r.removed_operator_codes
    )?;
    writeln!(
        out,
        "wrote {} ({} bytes)",
        args.output.display(),
        frozen.bytes.len()
    )?;
    Ok(())
}
