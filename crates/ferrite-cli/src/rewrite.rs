//! `ferrite rewrite`: read, verify and write a model back through ferrite's
//! own flatbuffer writer.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use ferrite_format::{Model, ModelBytes};

/// Normalise a model through ferrite's writer
///
/// Parses and verifies IN, writes it back out with ferrite's flatbuffer
/// writer and saves the result as OUT.
///
/// The output holds the same model (checked by reading it back before it is
/// saved) in ferrite's canonical layout: buffers inline and 16-byte aligned,
/// default-valued fields omitted. OUT is replaced atomically.
#[derive(clap::Args)]
pub struct Args {
    /// The .tflite model to read.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the normalised model (may equal IN).
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes = ModelBytes::map(&args.input)?;
    let model = Model::parse(&bytes).with_context(|| args.input.display().to_string())?;
    let written = model
        .write()
        .with_context(|| format!("{}: cannot write model", args.input.display()))?;
    // A writer bug must not leave a broken file behind; these errors are
    // deliberately not FormatErrors, so they exit 1 rather than 2.
    let reread = Model::parse(&written)
        .map_err(|e| anyhow!("internal error: the rewritten model does not parse: {e}"))?;
    if reread != model {
        return Err(anyhow!(
            "internal error: the rewritten model differs from the input"
        ));
    }
    write_atomically(&args.output, &written)?;
    let (before, after) = (bytes.len() as i64, written.len() as i64);
    writeln!(
        out,
        "rewrote {} ({before} bytes) -> {} ({after} bytes, {:+})",
        args.input.display(),
        args.output.display(),
        after - before
    )?;
    Ok(())
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over
/// `path`, so readers see either the old file or the whole new one.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file path", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = File::options().write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
