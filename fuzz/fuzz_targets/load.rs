//! Any bytes must load or fail with an error under tight limits; a model
//! that loads must survive what callers do next: decoding Flex options and
//! their NodeDefs, writing, re-reading the written bytes, and rewriting
//! them unchanged.

#![no_main]

use ferrite_format::{flex, nodedef, Limits, Model};
use libfuzzer_sys::fuzz_target;

fn limits() -> Limits {
    Limits {
        max_file_bytes: 1 << 22,
        max_subgraphs: 64,
        max_tensors_per_subgraph: 1 << 14,
        max_operators_per_subgraph: 1 << 14,
        max_rank: 8,
        max_subgraph_nesting: 8,
        max_tensor_elements: 1 << 26,
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();
    let Ok(model) = Model::parse_with_limits(data, &limits) else {
        return;
    };
    for op in model.subgraphs.iter().flat_map(|s| &s.operators) {
        if let Some(flex) = op.custom_options.as_deref().and_then(flex::decode) {
            let _ = nodedef::attrs(flex.node_def);
            let _ = nodedef::node_name(flex.node_def);
            let _ = nodedef::op_name(flex.node_def);
        }
    }
    // Writing may refuse (an option type this writer does not know), but
    // what it writes must load and be a fixed point of read + write.
    let Ok(written) = model.write() else {
        return;
    };
    // Inlined external buffers may grow the file past the size limit only.
    let relaxed = Limits {
        max_file_bytes: u64::MAX,
        ..limits
    };
    let reread = Model::parse_with_limits(&written, &relaxed)
        .unwrap_or_else(|e| panic!("written model does not load: {e}"));
    let rewritten = reread
        .write()
        .unwrap_or_else(|e| panic!("re-read model cannot be written: {e}"));
    assert!(
        rewritten == written,
        "rewrite of a re-read model changed its bytes"
    );
});
