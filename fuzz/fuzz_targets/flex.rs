//! Flex custom options, custom-op flexbuffer maps and NodeDef protobufs straight from the fuzzer, so
//! their decoders get mutations that need not survive model verification.

#![no_main]

use ferrite_format::{flex, flexmap, nodedef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(op) = flex::decode(data) {
        let _ = nodedef::attrs(op.node_def);
        let _ = nodedef::node_name(op.node_def);
    }
    let _ = nodedef::attrs(data);
    let _ = nodedef::op_name(data);
    let _ = flexmap::decode(data);
});
