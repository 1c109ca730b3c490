//! Writes the sample models of `ferrite_freeze::samples` into a directory,
//! for `tools/fixtures/freeze_fixtures.sh`.

use std::path::PathBuf;

use ferrite_freeze::samples;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    let models = [
        ("static_init", samples::static_init()),
        ("two_readers", samples::two_readers()),
        ("streaming", samples::streaming()),
    ];
    for (name, bytes) in models {
        std::fs::write(dir.join(format!("{name}.tflite")), bytes)?;
    }
    Ok(())
}
