//! UNIDIRECTIONAL_SEQUENCE_LSTM on float32, following LiteRT's float LSTM
//! step (lstm_eval.cc):
//!
//! - gate = bias + W_x·x + W_h·h (+ peephole ⊙ c); with layer norm the bias
//!   is added after normalising and scaling instead;
//! - input, forget and output gates use the sigmoid, the cell gate and the
//!   cell output use the fused activation (usually TANH);
//! - c = f ⊙ c + g ⊙ i (CIFG: i = 1 - f), clipped to ±cell_clip when > 0;
//!   the output gate's peephole sees the updated c;
//! - h = o ⊙ act(c), or with projection h = W_p·(o ⊙ act(c)) + b_p clipped
//!   to ±proj_clip when > 0; h is both the step's output and the next state.
//!
//! The 24 inputs: 0 input; 1-4 input weights (input, forget, cell, output;
//! input-gate tensors absent for CIFG); 5-8 recurrent weights; 9-11
//! peepholes; 12-15 gate biases; 16-17 projection weights and bias; 18-19
//! output and cell state (variable tensors); 20-23 layer-norm coefficients.
//! The states are read as the initial values; the final states are written
//! back into them (see `state_inputs`), as LiteRT does.
//!
//! The input projection of all timesteps is one GEMM when large; dot
//! products use eight partial sums, so sums differ from LiteRT's sequential
//! ones by rounding only.

use super::lstm_math::{dot, input_projection, normalize, sigmoid};
use crate::api::*;
use crate::common::Activation;
use ferrite_format::options::UnidirectionalSequenceLSTMOptions;

pub(super) const INPUT: usize = 0;
pub(super) const W_X: [usize; 4] = [1, 2, 3, 4];
pub(super) const W_H: [usize; 4] = [5, 6, 7, 8];
pub(super) const PEEP: [usize; 3] = [9, 10, 11];
pub(super) const BIAS: [usize; 4] = [12, 13, 14, 15];
pub(super) const PROJ_W: usize = 16;
pub(super) const PROJ_B: usize = 17;
pub(super) const H_STATE: usize = 18;
pub(super) const C_STATE: usize = 19;
pub(super) const NORM: [usize; 4] = [20, 21, 22, 23];

/// Gate order in every table: input, forget, cell, output.
pub(super) const GATE_I: usize = 0;
pub(super) const GATE_F: usize = 1;
pub(super) const GATE_G: usize = 2;
pub(super) const GATE_O: usize = 3;

/// The op's configuration, shared with the hybrid kernel.
pub(super) struct Lstm {
    pub(super) act: Activation,
    pub(super) cell_clip: f32,
    pub(super) proj_clip: f32,
    pub(super) time_major: bool,
    pub(super) asymmetric: bool,
    pub(super) cifg: bool,
    pub(super) peephole: bool,
    pub(super) layer_norm: bool,
    pub(super) projection: bool,
    pub(super) proj_bias: bool,
}

fn present(spec: &OpSpec<'_>, i: usize) -> bool {
    matches!(spec.inputs.get(i), Some(Some(_)))
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let lstm = parse(spec)?;
    // int8 weights with float activations: the dynamic-range kernel.
    if spec.input(INPUT)?.dtype == DType::Float32 && spec.input(W_X[GATE_O])?.dtype == DType::Int8 {
        return super::unidirectional_sequence_lstm_hybrid::build(spec, lstm);
    }
    // Every present tensor except the states must be float32 (quantized
    // inputs would be the integer kernel).
    for (i, t) in spec.inputs.iter().enumerate() {
        if let Some(t) = t {
            if t.dtype != DType::Float32 {
                return spec.unsupported(format!("input {i} ({}) has dtype {}", t.name, t.dtype));
            }
        }
    }
    if spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    Ok(Box::new(lstm))
}

/// Options and the presence pattern of the optional tensors (CIFG,
/// peephole, projection, layer norm), validated.
pub(super) fn parse(spec: &OpSpec<'_>) -> KResult<Lstm> {
    let n = spec.inputs.len();
    if n != 20 && n != 24 {
        return invalid(format!("{} expects 20 or 24 inputs, has {n}", spec.name));
    }
    spec.expect_arity(20..=24, 1)?;
    let default = UnidirectionalSequenceLSTMOptions::default();
    let o = match spec.options {
        BuiltinOptions::UnidirectionalSequenceLSTMOptions(o) => o,
        _ => &default,
    };
    if o.diagonal_recurrent_tensors {
        return spec.unsupported("diagonal recurrent weights");
    }
    if !(o.cell_clip >= 0.0 && o.proj_clip >= 0.0) {
        return invalid(format!("{}: negative clip values", spec.name));
    }
    let act = Activation::from_code(o.fused_activation_function)?;
    if act == Activation::None {
        // LiteRT then leaves a scratch buffer unwritten and multiplies the
        // output gate by the cell gate instead of the cell state.
        return spec.unsupported("fused activation NONE");
    }
    for i in [INPUT, 2, 3, 4, 6, 7, 8, 13, 14, 15, H_STATE, C_STATE] {
        spec.input(i)?;
    }
    let cifg = !present(spec, W_X[GATE_I]);
    if present(spec, W_H[GATE_I]) == cifg || present(spec, BIAS[GATE_I]) == cifg {
        return invalid(format!(
            "{}: input-gate weights and bias must be all present or all absent",
            spec.name
        ));
    }
    let peephole = present(spec, PEEP[2]);
    if present(spec, PEEP[1]) != peephole || (present(spec, PEEP[0]) && (cifg || !peephole)) {
        return invalid(format!(
            "{}: peephole weights must be all present or all absent",
            spec.name
        ));
    }
    if !cifg && peephole && !present(spec, PEEP[0]) {
        return invalid(format!(
            "{}: peephole weights must be all present or all absent",
            spec.name
        ));
    }
    let projection = present(spec, PROJ_W);
    let proj_bias = present(spec, PROJ_B);
    if proj_bias && !projection {
        return invalid(format!(
            "{}: projection bias without projection weights",
            spec.name
        ));
    }
    let layer_norm = n == 24 && present(spec, NORM[GATE_F]);
    if layer_norm {
        if !present(spec, NORM[GATE_G])
            || !present(spec, NORM[GATE_O])
            || present(spec, NORM[GATE_I]) == cifg
        {
            return invalid(format!("{}: incomplete layer-norm coefficients", spec.name));
        }
    } else if n == 24 && NORM.iter().any(|&i| present(spec, i)) {
        return invalid(format!(
            "{}: layer-norm coefficients without the forget gate's",
            spec.name
        ));
    }
    Ok(Lstm {
        act,
        cell_clip: o.cell_clip,
        proj_clip: o.proj_clip,
        time_major: o.time_major,
        asymmetric: o.asymmetric_quantize_inputs,
        cifg,
        peephole,
        layer_norm,
        projection,
        proj_bias,
    })
}

/// Sizes of one call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dims {
    pub(super) batch: usize,
    pub(super) time: usize,
    pub(super) input: usize,
    pub(super) cell: usize,
    pub(super) output: usize,
}

impl Lstm {
    /// The gates this model has (CIFG has no input gate).
    pub(super) fn gates(&self) -> &'static [usize] {
        if self.cifg {
            &[GATE_F, GATE_G, GATE_O]
        } else {
            &[GATE_I, GATE_F, GATE_G, GATE_O]
        }
    }

    /// Validates every shape relation and returns the sizes.
    pub(super) fn dims(&self, shape: impl Fn(usize) -> Option<Vec<usize>>) -> KResult<Dims> {
        let x =
            shape(INPUT).ok_or_else(|| KernelError::InvalidInput("LSTM input missing".into()))?;
        let &[a, b, input] = x.as_slice() else {
            return invalid(format!("LSTM input must be 3-D, got {x:?}"));
        };
        let (batch, time) = if self.time_major { (b, a) } else { (a, b) };
        let need = |i: usize, want: &[usize]| -> KResult<()> {
            match shape(i) {
                Some(s) if s == want => Ok(()),
                Some(s) => invalid(format!("LSTM input {i} has shape {s:?}, expected {want:?}")),
                None => invalid(format!("LSTM input {i} missing")),
            }
        };
        let wo = shape(W_H[GATE_O]).unwrap_or_default();
        let &[cell, output] = wo.as_slice() else {
            return invalid(format!("LSTM recurrent weights must be 2-D, got {wo:?}"));
        };
        for &g in self.gates() {
            need(W_X[g], &[cell, input])?;
            need(W_H[g], &[cell, output])?;
            need(BIAS[g], &[cell])?;
            if self.layer_norm {
                need(NORM[g], &[cell])?;
            }
        }
        if self.peephole {
            for p in if self.cifg { &PEEP[1..] } else { &PEEP[..] } {
                need(*p, &[cell])?;
            }
        }
        if self.projection {
            need(PROJ_W, &[output, cell])?;
            if self.proj_bias {
                need(PROJ_B, &[output])?;
            }
        } else if output != cell {
            return invalid(format!(
                "LSTM without projection needs {output} outputs = {cell} cells"
            ));
        }
        let count = |i: usize| shape(i).map(|s| s.iter().product::<usize>());
        if count(H_STATE) != Some(batch * output) || count(C_STATE) != Some(batch * cell) {
            return invalid("LSTM state sizes do not match batch x units");
        }
        Ok(Dims {
            batch,
            time,
            input,
            cell,
            output,
        })
    }
}

impl Kernel for Lstm {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let d = self.dims(|i| inputs.get(i).copied().flatten().map(|a| a.shape.to_vec()))?;
        let mut s = shape_input(inputs, INPUT)?.shape.to_vec();
        s[2] = d.output;
        Ok(Some(vec![s]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let inputs = io.inputs;
        let d = self.dims(|i| inputs.get(i).copied().flatten().map(|t| t.shape.to_vec()))?;
        let w = Weights::read(inputs)?;
        let x = req(inputs, INPUT)?;
        let gates = self.gates();
        let (c, k, o) = (d.cell, d.input, d.output);
        let rows = d.batch * d.time;

        // W_x·x for every (time, batch) row at once: [rows, 4 * cell].
        let width = 4 * c;
        let mut proj_x = vec![0f32; rows * width];
        for &g in gates {
            input_projection(io.par, x, w.wx[g], &mut proj_x, rows, k, c, g * c, width)?;
        }

        let mut h = req(inputs, H_STATE)?.to_vec();
        let mut cs = req(inputs, C_STATE)?.to_vec();
        let mut gate = vec![0f32; width];
        let mut hidden = vec![0f32; c];
        let out = io.outputs[0].f32()?;
        if x.len() != rows * k
            || out.len() != rows * o
            || h.len() != d.batch * o
            || cs.len() != d.batch * c
        {
            return invalid("LSTM buffers do not match their shapes");
        }
        for b in 0..d.batch {
            let h = &mut h[b * o..(b + 1) * o];
            let cs = &mut cs[b * c..(b + 1) * c];
            for t in 0..d.time {
                let row = if self.time_major {
                    t * d.batch + b
                } else {
                    b * d.time + t
                };
                let px = &proj_x[row * width..(row + 1) * width];
                // All gates' pre-activations; peepholes of the input and
                // forget gates see the old cell state.
                for &g in gates {
                    let gs = &mut gate[g * c..(g + 1) * c];
                    let wh = w.wh[g];
                    for j in 0..c {
                        let init = if self.layer_norm { 0.0 } else { w.bias[g][j] };
                        gs[j] = init + px[g * c + j] + dot(&wh[j * o..(j + 1) * o], h);
                    }
                    if self.peephole && (g == GATE_I || g == GATE_F) {
                        for (v, (&p, &cj)) in gs.iter_mut().zip(w.peep[g].iter().zip(cs.iter())) {
                            *v += p * cj;
                        }
                    }
                }
                for &g in &gates[..gates.len() - 1] {
                    self.finish_gate(g, &mut gate[g * c..(g + 1) * c], &w);
                }
                // c = f * c + g * i, with i = 1 - f under CIFG.
                let (gi, rest) = gate.split_at_mut(c);
                let (gf, rest) = rest.split_at_mut(c);
                let (gg, go) = rest.split_at_mut(c);
                for j in 0..c {
                    let i = if self.cifg { 1.0 - gf[j] } else { gi[j] };
                    let mut v = gf[j] * cs[j];
                    v += gg[j] * i;
                    if self.cell_clip > 0.0 {
                        v = v.min(self.cell_clip).max(-self.cell_clip);
                    }
                    cs[j] = v;
                }
                // The output gate's peephole sees the new cell state.
                if self.peephole {
                    for (v, (&p, &cj)) in go.iter_mut().zip(w.peep[GATE_O].iter().zip(cs.iter())) {
                        *v += p * cj;
                    }
                }
                self.finish_gate(GATE_O, go, &w);
                for j in 0..c {
                    hidden[j] = go[j] * self.act.apply(cs[j]);
                }
                if self.projection {
                    for (r, hr) in h.iter_mut().enumerate() {
                        let init = if self.proj_bias { w.proj_b[r] } else { 0.0 };
                        let mut v = init + dot(&w.proj_w[r * c..(r + 1) * c], &hidden);
                        if self.proj_clip > 0.0 {
                            v = v.min(self.proj_clip).max(-self.proj_clip);
                        }
                        *hr = v;
                    }
                } else {
                    h.copy_from_slice(&hidden[..o]);
                }
                out[row * o..(row + 1) * o].copy_from_slice(h);
            }
        }
        // The final states go back into the state inputs, so the next
        // invoke continues from them as in LiteRT.
        if let [_, h_out, c_out] = &mut io.outputs[..] {
            h_out.f32()?.copy_from_slice(&h);
            c_out.f32()?.copy_from_slice(&cs);
        }
        Ok(())
    }

    fn state_inputs(&self) -> &[usize] {
        &[H_STATE, C_STATE]
    }
}

/// The float32 data of input `i`, which must be present.
fn req<'a>(inputs: &[Option<TensorRef<'a>>], i: usize) -> KResult<&'a [f32]> {
    match inputs.get(i) {
        Some(Some(t)) => t.f32(),
        _ => invalid(format!("LSTM input {i} missing")),
    }
}

/// The float32 data of input `i`, or an empty slice when it is absent.
fn opt<'a>(inputs: &[Option<TensorRef<'a>>], i: usize) -> KResult<&'a [f32]> {
    match inputs.get(i) {
        Some(Some(t)) => t.f32(),
        _ => Ok(&[]),
    }
}

/// Every weight tensor, per gate (empty when absent); `dims` has already
/// checked their sizes.
struct Weights<'a> {
    wx: [&'a [f32]; 4],
    wh: [&'a [f32]; 4],
    bias: [&'a [f32]; 4],
    /// Peepholes indexed by gate (the cell gate has none).
    peep: [&'a [f32]; 4],
    norm: [&'a [f32]; 4],
    proj_w: &'a [f32],
    proj_b: &'a [f32],
}

impl<'a> Weights<'a> {
    fn read(inputs: &[Option<TensorRef<'a>>]) -> KResult<Self> {
        let four = |idx: [usize; 4]| -> KResult<[&'a [f32]; 4]> {
            Ok([
                opt(inputs, idx[0])?,
                opt(inputs, idx[1])?,
                opt(inputs, idx[2])?,
                opt(inputs, idx[3])?,
            ])
        };
        Ok(Weights {
            wx: four(W_X)?,
            wh: four(W_H)?,
            bias: four(BIAS)?,
            peep: [
                opt(inputs, PEEP[0])?,
                opt(inputs, PEEP[1])?,
                &[],
                opt(inputs, PEEP[2])?,
            ],
            norm: four(NORM)?,
            proj_w: opt(inputs, PROJ_W)?,
            proj_b: opt(inputs, PROJ_B)?,
        })
    }
}

impl Lstm {
    /// Layer norm (when on) and the gate's activation, in place.
    fn finish_gate(&self, g: usize, gs: &mut [f32], w: &Weights<'_>) {
        if self.layer_norm {
            normalize(gs);
            for ((v, &s), &b) in gs.iter_mut().zip(w.norm[g]).zip(w.bias[g]) {
                *v = *v * s + b;
            }
        }
        if g == GATE_G {
            for v in gs.iter_mut() {
                *v = self.act.apply(*v);
            }
        } else {
            for v in gs.iter_mut() {
                *v = sigmoid(*v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lstm_math::tests::val;
    use super::*;
    use crate::Parallel;

    struct Cfg {
        batch: usize,
        time: usize,
        input: usize,
        cell: usize,
        output: usize,
        cifg: bool,
        peephole: bool,
        projection: bool,
        layer_norm: bool,
        time_major: bool,
        cell_clip: f32,
        proj_clip: f32,
        /// Scale of the initial states (0: zeros).
        state: f64,
    }

    /// Builds the 24 inputs of `cfg`, runs the op and returns its output.
    fn run(cfg: &Cfg) -> KResult<Vec<f32>> {
        let (b, t, i, c, o) = (cfg.batch, cfg.time, cfg.input, cfg.cell, cfg.output);
        let mut data: Vec<Option<(Vec<f32>, Vec<usize>)>> = vec![None; 24];
        let x_shape = if cfg.time_major {
            vec![t, b, i]
        } else {
            vec![b, t, i]
        };
        data[INPUT] = Some((val(0, b * t * i, 1.0), x_shape));
        for g in 0..4 {
            if g == GATE_I && cfg.cifg {
                continue;
            }
            data[W_X[g]] = Some((val(1 + g, c * i, 0.5), vec![c, i]));
            data[W_H[g]] = Some((val(5 + g, c * o, 0.5), vec![c, o]));
            data[BIAS[g]] = Some((val(12 + g, c, 0.3), vec![c]));
            if cfg.layer_norm {
                let n = val(20 + g, c, 1.0).iter().map(|v| v + 1.0).collect();
                data[NORM[g]] = Some((n, vec![c]));
            }
        }
        if cfg.peephole {
            for (k, &p) in PEEP.iter().enumerate() {
                if !(k == 0 && cfg.cifg) {
                    data[p] = Some((val(9 + k, c, 0.4), vec![c]));
                }
            }
        }
        if cfg.projection {
            data[PROJ_W] = Some((val(16, o * c, 0.5), vec![o, c]));
            data[PROJ_B] = Some((val(17, o, 0.2), vec![o]));
        }
        data[H_STATE] = Some((val(18, b * o, cfg.state), vec![b, o]));
        data[C_STATE] = Some((val(19, b * c, cfg.state), vec![b, c]));

        let specs: Vec<Option<TensorSpec>> = data
            .iter()
            .map(|d| {
                d.as_ref().map(|(_, s)| TensorSpec {
                    name: "t",
                    dtype: DType::Float32,
                    shape: s,
                    quant: None,
                    data: None,
                })
            })
            .collect();
        let options =
            BuiltinOptions::UnidirectionalSequenceLSTMOptions(UnidirectionalSequenceLSTMOptions {
                fused_activation_function: 4,
                cell_clip: cfg.cell_clip,
                proj_clip: cfg.proj_clip,
                time_major: cfg.time_major,
                ..Default::default()
            });
        let out_spec = TensorSpec {
            name: "y",
            dtype: DType::Float32,
            shape: &[],
            quant: None,
            data: None,
        };
        let spec = OpSpec {
            code: 0,
            name: "UNIDIRECTIONAL_SEQUENCE_LSTM",
            version: 1,
            options: &options,
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &specs,
            outputs: &[out_spec],
        };
        let k = build(&spec)?;
        let args: Vec<Option<ShapeArg>> = data
            .iter()
            .map(|d| {
                d.as_ref().map(|(v, s)| ShapeArg {
                    dtype: DType::Float32,
                    shape: s,
                    value: Some(bytemuck::cast_slice(v)),
                })
            })
            .collect();
        let out_shape = k.output_shapes(&args)?.unwrap().remove(0);
        let refs: Vec<Option<TensorRef>> = data
            .iter()
            .map(|d| {
                d.as_ref().map(|(v, s)| TensorRef {
                    dtype: DType::Float32,
                    shape: s,
                    data: bytemuck::cast_slice(v),
                    quant: None,
                })
            })
            .collect();
        let mut buf = AlignedBuf::default();
        buf.resize(out_shape.iter().product::<usize>() * 4);
        let mut outputs = [TensorMut {
            dtype: DType::Float32,
            shape: &out_shape,
            buf: &mut buf,
            quant: None,
        }];
        k.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outputs,
            par: &Parallel::new(2).unwrap(),
        })?;
        let mut want_shape = data[INPUT].as_ref().unwrap().1.clone();
        want_shape[2] = o;
        assert_eq!(out_shape, want_shape);
        Ok(bytemuck::cast_slice(buf.bytes()).to_vec())
    }

    fn close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-6, "got {got:?}\nwant {want:?}");
        }
    }

    const BASIC: Cfg = Cfg {
        batch: 2,
        time: 3,
        input: 3,
        cell: 4,
        output: 4,
        cifg: false,
        peephole: false,
        projection: false,
        layer_norm: false,
        time_major: false,
        cell_clip: 0.0,
        proj_clip: 0.0,
        state: 0.0,
    };

    // Expected outputs: a float64 numpy implementation of the same
    // equations on the same float32 tensors.
    #[test]
    fn plain_lstm_batch_major() {
        close(
            &run(&BASIC).unwrap(),
            &[
                -0.05247542,
                -0.035144918,
                0.040645104,
                0.111744374,
                -0.024138764,
                -0.1687174,
                -0.10871458,
                0.20550412,
                0.09113637,
                -0.20502375,
                -0.19820602,
                0.17896411,
                0.16424248,
                0.09081195,
                -0.093395084,
                -0.09569161,
                0.1689721,
                0.23267697,
                0.04451806,
                -0.088526234,
                0.106505044,
                0.16029845,
                0.10442741,
                0.028287979,
            ],
        );
    }

    #[test]
    fn cifg_peephole_cell_clip_time_major_with_initial_state() {
        let cfg = Cfg {
            cifg: true,
            peephole: true,
            time_major: true,
            cell_clip: 0.5,
            state: 0.7,
            ..BASIC
        };
        close(
            &run(&cfg).unwrap(),
            &[
                0.044624653,
                0.05027922,
                -0.117702074,
                -0.16132967,
                0.26057893,
                -0.037056424,
                -0.06531258,
                -0.017834086,
                0.27667367,
                -0.10274489,
                -0.12394184,
                -0.057158682,
                0.24264148,
                0.07262198,
                -0.1824455,
                -0.100864306,
                0.13577662,
                0.011913341,
                0.10207177,
                -0.09228414,
                0.11118656,
                0.06576044,
                0.015274663,
                0.11115612,
            ],
        );
    }

    #[test]
    fn projection_layer_norm_and_proj_clip() {
        let cfg = Cfg {
            batch: 1,
            time: 4,
            input: 5,
            output: 3,
            peephole: true,
            projection: true,
            layer_norm: true,
            proj_clip: 0.3,
            state: 0.5,
            ..BASIC
        };
        close(
            &run(&cfg).unwrap(),
            &[
                -0.28082713,
                0.056593344,
                0.3,
                -0.06246441,
                0.19962521,
                0.3,
                -0.20077732,
                -0.0049320543,
                0.13794814,
                -0.17035358,
                0.14800486,
                0.3,
            ],
        );
    }

    #[test]
    fn bad_shapes_and_options_are_rejected() {
        // Without projection the output size must equal the cell count.
        let cfg = Cfg { output: 3, ..BASIC };
        assert!(run(&cfg).is_err());
        // Input-gate weights without the input-gate bias etc. are caught
        // by the builder: CIFG with a peephole on the input gate.
        let mut d: Vec<Option<TensorSpec>> = vec![None; 20];
        let t = TensorSpec {
            name: "t",
            dtype: DType::Float32,
            shape: &[1],
            quant: None,
            data: None,
        };
        for i in [0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 18, 19] {
            d[i] = Some(t);
        }
        let options =
            BuiltinOptions::UnidirectionalSequenceLSTMOptions(UnidirectionalSequenceLSTMOptions {
                fused_activation_function: 4,
                ..Default::default()
            });
        let check = |d: &[Option<TensorSpec>]| {
            let spec = OpSpec {
                code: 0,
                name: "LSTM",
                version: 1,
                options: &options,
                options2: &Default::default(),
                custom_options: None,
                attrs: &[],
                inputs: d,
                outputs: &[t],
            };
            build(&spec).map(|_| ())
        };
        assert!(check(&d).is_err());
        d[9] = None;
        assert!(check(&d).is_ok());
        d[2] = Some(TensorSpec {
            dtype: DType::Int8,
            ..t
        });
        assert!(matches!(check(&d), Err(KernelError::Unsupported(_))));
    }
}
