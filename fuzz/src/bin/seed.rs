//! Writes fuzzing seeds from every model under the given directories
//! (`<dir>/*/model.tflite`) into `<corpus>/load` and `<corpus>/flex`:
//!
//! - small models as they are (the converter's layout differs from ours);
//! - every model rewritten with the data of large buffers dropped, so big
//!   models keep their structure at a size the fuzzer mutates quickly;
//! - the custom options of every operator, for the `flex` target.
//!
//! Usage: seed <corpus> <models-dir>...

use std::borrow::Cow;
use std::path::Path;

use ferrite_format::Model;

/// Buffers above this many bytes are emptied (tensors may have no data).
const KEEP_BYTES: usize = 256;
/// Models up to this size are also kept byte for byte.
const COPY_BYTES: usize = 64 << 10;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((corpus, dirs)) = args.split_first() else {
        eprintln!("usage: seed <corpus> <models-dir>...");
        std::process::exit(2);
    };
    let load = Path::new(corpus).join("load");
    let flex = Path::new(corpus).join("flex");
    for d in [&load, &flex] {
        std::fs::create_dir_all(d).expect("create corpus directory");
    }
    let (mut models, mut options) = (0, 0);
    for dir in dirs {
        // Fixtures and corpus share some model names.
        let group = Path::new(dir)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("skipping {dir}: not readable");
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path().join("model.tflite"))
            .collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            let name = path
                .parent()
                .and_then(Path::file_name)
                .map(|n| format!("{group}-{}", n.to_string_lossy()))
                .unwrap_or_default();
            let bytes = std::fs::read(&path).expect("read model");
            if bytes.len() <= COPY_BYTES {
                write(&load.join(format!("{name}.tflite")), &bytes);
                models += 1;
            }
            let mut model = match Model::parse(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("skipping {}: {e}", path.display());
                    continue;
                }
            };
            let ops = model.subgraphs.iter().flat_map(|s| &s.operators);
            for (i, c) in ops.filter_map(|o| o.custom_options.as_deref()).enumerate() {
                write(&flex.join(format!("{name}-{i}.bin")), c);
                options += 1;
            }
            for b in &mut model.buffers {
                if b.data.len() > KEEP_BYTES {
                    b.data = Cow::Borrowed(&[]);
                }
            }
            match model.write() {
                Ok(seed) => {
                    write(&load.join(format!("{name}-stripped.tflite")), &seed);
                    models += 1;
                }
                Err(e) => eprintln!("skipping {}: {e}", path.display()),
            }
        }
    }
    eprintln!("wrote {models} models and {options} custom options under {corpus}");
}
