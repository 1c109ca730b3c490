//! Dropping what the rewrite left unreferenced: tensors of the subgraphs it
//! changed, buffers and operator codes, with every index renumbered.

use ferrite_format::Model;

/// Old index -> new index for the `keep`ing entries, and how many go.
fn renumber(keep: &[bool]) -> (Vec<u32>, usize) {
    let mut next = 0;
    let map = keep
        .iter()
        .map(|&k| {
            let i = next;
            next += u32::from(k);
            i
        })
        .collect();
    (map, keep.iter().filter(|&&k| !k).count())
}

/// Removes tensors of subgraph `s` that no op, subgraph input or output or
/// signature refers to.
pub(crate) fn tensors(model: &mut Model<'_>, s: usize) {
    let sg = &model.subgraphs[s];
    let mut keep = vec![false; sg.tensors.len()];
    let mut mark = |t: i32| {
        if let Ok(t) = usize::try_from(t) {
            keep[t] = true;
        }
    };
    for op in &sg.operators {
        op.inputs.iter().chain(&op.outputs).for_each(|&t| mark(t));
        op.intermediates.iter().flatten().for_each(|&t| mark(t));
    }
    sg.inputs.iter().chain(&sg.outputs).for_each(|&t| mark(t));
    let sigs = model
        .signature_defs
        .iter()
        .filter(|d| d.subgraph_index as usize == s);
    for d in sigs {
        d.inputs
            .iter()
            .chain(&d.outputs)
            .for_each(|m| mark(m.tensor_index as i32));
    }
    let (map, dropped) = renumber(&keep);
    if dropped == 0 {
        return;
    }
    let at = |t: &mut i32| {
        if *t >= 0 {
            *t = map[*t as usize] as i32;
        }
    };
    let sg = &mut model.subgraphs[s];
    let mut i = 0;
    sg.tensors.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    for op in &mut sg.operators {
        op.inputs.iter_mut().chain(&mut op.outputs).for_each(at);
        op.intermediates.iter_mut().flatten().for_each(at);
    }
    sg.inputs.iter_mut().chain(&mut sg.outputs).for_each(at);
    for d in model
        .signature_defs
        .iter_mut()
        .filter(|d| d.subgraph_index as usize == s)
    {
        for m in d.inputs.iter_mut().chain(&mut d.outputs) {
            m.tensor_index = map[m.tensor_index as usize];
        }
    }
}

/// Removes buffers no tensor or metadata refers to (buffer 0, the empty
/// sentinel, stays) and operator codes no op uses. Returns how many of
/// each went.
pub(crate) fn unused_buffers_and_codes(model: &mut Model<'_>) -> (usize, usize) {
    let mut keep = vec![false; model.buffers.len()];
    keep[0] = true;
    let tensors = model.subgraphs.iter().flat_map(|s| &s.tensors);
    for b in tensors.map(|t| t.buffer as usize) {
        keep[b] = true;
    }
    for m in &model.metadata {
        keep[m.buffer as usize] = true;
    }
    for &b in model.metadata_buffer.iter().flatten() {
        keep[b as usize] = true;
    }
    let (map, buffers) = renumber(&keep);
    let mut i = 0;
    model.buffers.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    for t in model.subgraphs.iter_mut().flat_map(|s| &mut s.tensors) {
        t.buffer = map[t.buffer as usize];
    }
    for m in &mut model.metadata {
        m.buffer = map[m.buffer as usize];
    }
    for b in model.metadata_buffer.iter_mut().flatten() {
        *b = map[*b as usize] as i32;
    }

    let mut keep = vec![false; model.operator_codes.len()];
    let ops = model.subgraphs.iter().flat_map(|s| &s.operators);
    for op in ops {
        keep[op.opcode_index as usize] = true;
    }
    let (map, codes) = renumber(&keep);
    let mut i = 0;
    model.operator_codes.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    for op in model.subgraphs.iter_mut().flat_map(|s| &mut s.operators) {
        op.opcode_index = map[op.opcode_index as usize];
    }
    (buffers, codes)
}
