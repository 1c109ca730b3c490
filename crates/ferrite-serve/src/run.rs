//! One request on one interpreter: checking inputs against the endpoint,
//! resizing, setting, invoking and collecting outputs. Runs on a blocking
//! thread.

use ferrite::{DType, Interpreter, TensorInfo};

use crate::error::{Result, ServeError};
use crate::tensor::{Data, Datatype, Tensor};

/// Input or output as the protocol describes it.
#[derive(Debug, Clone)]
pub struct TensorMeta {
    pub name: String,
    pub datatype: Datatype,
    /// -1 marks a dimension that requests may choose.
    pub shape: Vec<i64>,
}

impl TensorMeta {
    pub(crate) fn of(name: String, info: &TensorInfo) -> Result<Self, String> {
        let datatype = Datatype::from_dtype(info.dtype).ok_or_else(|| {
            format!(
                "tensor '{name}' has type {}, which no v2 datatype carries",
                info.dtype
            )
        })?;
        let shape =
            if info.shape_signature.len() == info.shape.len() && !info.shape_signature.is_empty() {
                info.shape_signature.clone()
            } else {
                info.shape.iter().map(|&d| d as i64).collect()
            };
        Ok(TensorMeta {
            name,
            datatype,
            shape,
        })
    }
}

/// What a request asks of an interpreter.
pub struct Job {
    pub signature: Option<String>,
    pub inputs: Vec<Tensor>,
    /// `None`: every output.
    pub outputs: Option<Vec<String>>,
}

/// The primary subgraph by tensor names, or a signature by its names.
enum Runner<'a> {
    Primary(&'a mut Interpreter),
    Signature(ferrite::SignatureRunner<'a>),
}

impl Runner<'_> {
    fn inputs(&self) -> Vec<(String, TensorInfo)> {
        match self {
            Runner::Primary(i) => i
                .inputs()
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
            Runner::Signature(s) => s.inputs(),
        }
    }

    fn outputs(&self) -> Vec<String> {
        match self {
            Runner::Primary(i) => i.outputs().into_iter().map(|t| t.name).collect(),
            Runner::Signature(s) => s.outputs().into_iter().map(|(n, _)| n).collect(),
        }
    }

    fn resize(&mut self, pos: usize, name: &str, shape: &[usize]) -> ferrite::Result<()> {
        match self {
            Runner::Primary(i) => i.resize_input(pos, shape),
            Runner::Signature(s) => s.resize_input(name, shape),
        }
    }

    fn set(&mut self, pos: usize, name: &str, t: &Tensor) -> ferrite::Result<()> {
        match (self, &t.data) {
            (Runner::Primary(i), Data::Raw(b)) => i.set_input_bytes(pos, b),
            (Runner::Primary(i), Data::Strings(s)) => i.set_input_strings(pos, s),
            (Runner::Signature(r), Data::Raw(b)) => r.set_input_bytes(name, b),
            (Runner::Signature(r), Data::Strings(s)) => r.set_input_strings(name, s),
        }
    }

    fn invoke(&mut self) -> ferrite::Result<()> {
        match self {
            Runner::Primary(i) => i.invoke(),
            Runner::Signature(s) => s.invoke(),
        }
    }

    fn output(&self, pos: usize, name: &str) -> Result<Tensor> {
        let view = match self {
            Runner::Primary(i) => i.output(pos)?,
            Runner::Signature(s) => s.output(name)?,
        };
        let datatype = Datatype::from_dtype(view.dtype).ok_or_else(|| {
            ServeError::Internal(format!(
                "output '{name}' has type {}, which no v2 datatype carries",
                view.dtype
            ))
        })?;
        let data = if view.dtype == DType::String {
            Data::Strings(
                ferrite::strings_of(&view)?
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect(),
            )
        } else {
            Data::Raw(view.data.to_vec())
        };
        Ok(Tensor {
            name: name.to_string(),
            datatype,
            shape: view.shape.to_vec(),
            data,
        })
    }
}

/// Runs `job`; every mismatch with the model is a `BadRequest` naming the tensor.
pub fn run(interp: &mut Interpreter, job: &Job) -> Result<Vec<Tensor>> {
    let mut runner = match &job.signature {
        None => Runner::Primary(interp),
        Some(key) => Runner::Signature(interp.signature(key)?),
    };
    let declared = runner.inputs();
    for (i, t) in job.inputs.iter().enumerate() {
        if job.inputs[..i].iter().any(|o| o.name == t.name) {
            return Err(ServeError::bad(format!(
                "inputs[{i}]: input '{}' is given twice",
                t.name
            )));
        }
        if !declared.iter().any(|(n, _)| *n == t.name) {
            let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
            return Err(ServeError::bad(format!(
                "inputs[{i}].name: the model has no input '{}' (inputs: {names:?})",
                t.name
            )));
        }
    }
    for (pos, (name, info)) in declared.iter().enumerate() {
        let (i, t) = job
            .inputs
            .iter()
            .enumerate()
            .find(|(_, t)| t.name == *name)
            .ok_or_else(|| ServeError::bad(format!("inputs: input '{name}' is missing")))?;
        let meta = TensorMeta::of(name.clone(), info).map_err(ServeError::BadRequest)?;
        if t.datatype != meta.datatype {
            return Err(ServeError::bad(format!(
                "inputs[{i}].datatype: input '{name}' is {}, not {}",
                meta.datatype.name(),
                t.datatype.name()
            )));
        }
        let fits = t.shape.len() == meta.shape.len()
            && t.shape
                .iter()
                .zip(&meta.shape)
                .all(|(&d, &m)| m < 0 || d as i64 == m);
        if !fits {
            return Err(ServeError::bad(format!(
                "inputs[{i}].shape: input '{name}' takes shape {:?} (-1: any), not {:?}",
                meta.shape, t.shape
            )));
        }
        t.check_len(&format!("inputs[{i}]"))?;
        if info.shape != t.shape {
            runner.resize(pos, name, &t.shape)?;
        }
        runner.set(pos, name, t)?;
    }
    runner.invoke()?;
    let names = runner.outputs();
    let wanted: Vec<String> = match &job.outputs {
        None => names.clone(),
        Some(w) => w.clone(),
    };
    let mut out = Vec::with_capacity(wanted.len());
    for (i, w) in wanted.iter().enumerate() {
        let pos = names.iter().position(|n| n == w).ok_or_else(|| {
            ServeError::bad(format!(
                "outputs[{i}].name: the model has no output '{w}' (outputs: {names:?})"
            ))
        })?;
        out.push(runner.output(pos, w)?);
    }
    Ok(out)
}

/// The endpoint's declared inputs and outputs.
pub fn describe(
    interp: &mut Interpreter,
    signature: Option<&str>,
) -> Result<(Vec<TensorMeta>, Vec<TensorMeta>), String> {
    type Named = Vec<(String, TensorInfo)>;
    let (ins, outs): (Named, Named) = match signature {
        None => (
            interp
                .inputs()
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
            interp
                .outputs()
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
        ),
        Some(k) => {
            let s = interp.signature(k).map_err(|e| e.to_string())?;
            (s.inputs(), s.outputs())
        }
    };
    let conv = |v: Named| -> Result<Vec<TensorMeta>, String> {
        v.into_iter().map(|(n, i)| TensorMeta::of(n, &i)).collect()
    };
    Ok((conv(ins)?, conv(outs)?))
}
