//! Fusions: after planning, op pairs that one kernel computes in a single
//! pass over memory are replaced by it. The graph is unchanged; the first
//! op's step is skipped and the second's kernel reads the first's inputs.
//! A fusion applies only when the intermediate tensor has no other reader
//! (no other op, not a subgraph output, not a variable), so nothing can
//! observe that it was never written.

use ferrite_format::options::BuiltinOptions;
use ferrite_format::TensorType;
use ferrite_graph::{Graph, OpKind};
use ferrite_kernels::activation::sigmoid::swish_kernel;

use crate::plan::{Action, SubgraphPlan};

pub(crate) fn fuse(graph: &Graph, plan: &mut SubgraphPlan) {
    swish(graph, plan);
}

fn op_name(graph: &Graph, plan: &SubgraphPlan, step: usize) -> &'static str {
    match graph.subgraphs[plan.index].nodes[plan.steps[step].node].kind {
        OpKind::Builtin { name, .. } => name,
        OpKind::Custom(_) => "",
    }
}

/// `s = LOGISTIC(x); y = MUL(x, s)` (either operand order) becomes
/// `y = swish(x)` when only that MUL reads `s`: EfficientNet's activation.
fn swish(graph: &Graph, plan: &mut SubgraphPlan) {
    let sg = &graph.subgraphs[plan.index];
    let mut readers = vec![0usize; plan.tensors.len()];
    for node in &sg.nodes {
        for &t in node.inputs.iter().flatten() {
            readers[t] += 1;
        }
    }
    for &t in &sg.outputs {
        readers[t] += 1;
    }
    let mut producer = vec![usize::MAX; plan.tensors.len()];
    for (i, step) in plan.steps.iter().enumerate() {
        if matches!(step.action, Action::Kernel(_)) {
            for &o in &step.outputs {
                producer[o] = i;
            }
        }
    }
    let plain_f32 = |t: usize| {
        let st = &plan.tensors[t];
        st.dtype == TensorType::Float32 && st.quant.is_none() && !sg.tensors[t].is_variable
    };
    let mut fused = Vec::new();
    for j in 0..plan.steps.len() {
        let step = &plan.steps[j];
        if !matches!(step.action, Action::Kernel(_)) || op_name(graph, plan, j) != "MUL" {
            continue;
        }
        let (&[Some(a), Some(b)], &[y]) = (&step.inputs[..], &step.outputs[..]) else {
            continue;
        };
        let BuiltinOptions::MulOptions(o) = &sg.nodes[step.node].options else {
            continue;
        };
        for (x, s) in [(a, b), (b, a)] {
            let i = producer[s];
            let is_sigmoid_of_x = i != usize::MAX
                && op_name(graph, plan, i) == "LOGISTIC"
                && plan.steps[i].inputs[..] == [Some(x)]
                && plan.steps[i].outputs[..] == [s];
            if !is_sigmoid_of_x || readers[s] != 1 || ![x, s, y].into_iter().all(plain_f32) {
                continue;
            }
            if let Ok(kernel) = swish_kernel(o.fused_activation_function) {
                fused.push((i, j, x, kernel));
                break;
            }
        }
    }
    for (i, j, x, kernel) in fused {
        plan.steps[i].action = Action::Skip;
        plan.steps[i].inputs.clear();
        plan.steps[i].outputs.clear();
        plan.steps[j].action = Action::Kernel(kernel);
        plan.steps[j].inputs = vec![Some(x)];
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferrite_format::build::{le_bytes, ModelBuilder};
    use ferrite_format::options::MulOptions;
    use ferrite_format::{Model, ModelBytes, TensorType as T};
    use ferrite_kernels::Parallel;

    use super::*;
    use crate::interpreter::{Interpreter, Options};
    use crate::plan::plan_subgraph;

    /// x -> LOGISTIC -> s; y = MUL(x, s) (or MUL(s, x)) with activation
    /// `act`; with `leak`, s is also a model output.
    fn model(swap: bool, act: i8, leak: bool) -> Graph {
        let mut b = ModelBuilder::new();
        let sg = b.subgraph("main");
        let x = b.tensor(sg, "x", T::Float32, &[1, 3, 5, 7]);
        let s = b.tensor(sg, "s", T::Float32, &[1, 3, 5, 7]);
        let y = b.tensor(sg, "y", T::Float32, &[1, 3, 5, 7]);
        b.op(sg, "LOGISTIC", &[x], &[s], BuiltinOptions::None);
        let mul = BuiltinOptions::MulOptions(MulOptions {
            fused_activation_function: act,
        });
        let operands = if swap { [s, x] } else { [x, s] };
        b.op(sg, "MUL", &operands, &[y], mul);
        b.inputs(sg, &[x]);
        let outputs = [y, s];
        b.outputs(sg, &outputs[..1 + usize::from(leak)]);
        let bytes = b.finish().unwrap();
        let model = Model::parse(&bytes).unwrap();
        Graph::build(&model, Arc::new(ModelBytes::from(bytes.to_vec()))).unwrap()
    }

    fn fused(graph: &Graph) -> bool {
        let plan = plan_subgraph(
            graph,
            0,
            &[vec![1, 3, 5, 7]],
            true,
            usize::MAX,
            &Parallel::single(),
            &Default::default(),
        )
        .unwrap();
        matches!(plan.steps[0].action, Action::Skip)
    }

    /// y for inputs spread over [-12, 12], NaN and the infinities.
    fn run(graph: Graph, threads: usize) -> Vec<f32> {
        let mut x: Vec<f32> = (0..105).map(|i| (i as f32 - 52.0) / 4.3).collect();
        x[7] = f32::NAN;
        x[8] = f32::INFINITY;
        x[9] = f32::NEG_INFINITY;
        let options = Options {
            threads,
            ..Options::default()
        };
        let mut interp = Interpreter::new(Arc::new(graph), options).unwrap();
        interp.set_tensor_data(0, 0, &le_bytes(&x)).unwrap();
        interp.invoke().unwrap();
        let view = interp.tensor(0, 2).unwrap();
        assert_eq!(view.shape, [1, 3, 5, 7]);
        view.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            let ok = (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-6 * (1.0 + q.abs());
            assert!(ok, "[{i}] {p} vs {q}");
        }
    }

    #[test]
    fn logistic_then_mul_fuses_and_keeps_values() {
        // The unfused pair is the reference: s leaks, so it must be written.
        let reference = run(model(false, 0, true), 1);
        assert!(!fused(&model(false, 0, true)));
        for swap in [false, true] {
            assert!(fused(&model(swap, 0, false)));
            for threads in [1, 2] {
                assert_close(&run(model(swap, 0, false), threads), &reference);
            }
        }
        // A fused RELU6 clamps the product.
        assert!(fused(&model(false, 3, false)));
        let relu6: Vec<f32> = reference
            .iter()
            .map(|&v| ferrite_kernels::common::clamp(v, 0.0, 6.0))
            .collect();
        assert_close(&run(model(false, 3, false), 1), &relu6);
    }

    #[test]
    fn sigmoid_read_elsewhere_is_not_fused() {
        // s feeds both the MUL and a second MUL: no fusion, same values.
        let mut b = ModelBuilder::new();
        let sg = b.subgraph("main");
        let x = b.tensor(sg, "x", T::Float32, &[1, 3, 5, 7]);
        let s = b.tensor(sg, "s", T::Float32, &[1, 3, 5, 7]);
        let y = b.tensor(sg, "y", T::Float32, &[1, 3, 5, 7]);
        let z = b.tensor(sg, "z", T::Float32, &[1, 3, 5, 7]);
        b.op(sg, "LOGISTIC", &[x], &[s], BuiltinOptions::None);
        let mul = BuiltinOptions::MulOptions(MulOptions::default());
        b.op(sg, "MUL", &[x, s], &[y], mul.clone());
        b.op(sg, "MUL", &[s, s], &[z], mul);
        b.inputs(sg, &[x]);
        b.outputs(sg, &[y, z]);
        let bytes = b.finish().unwrap();
        let model_ = Model::parse(&bytes).unwrap();
        let graph = Graph::build(&model_, Arc::new(ModelBytes::from(bytes.to_vec()))).unwrap();
        assert!(!fused(&graph));
        assert_close(&run(graph, 1), &run(model(false, 0, true), 1));
    }
}
