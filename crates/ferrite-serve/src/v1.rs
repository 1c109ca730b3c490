//! TF Serving's REST predict API: `{"instances": [...]}` (row form) and
//! `{"inputs": ...}` (column form), answered as `predictions` / `outputs`.

use serde_json::{json, Map, Value};

use crate::engine::{Endpoint, Request, Response};
use crate::error::{Result, ServeError};
use crate::tensor::{checked_count, encode_elements, json_shape, nest, Tensor};

/// TF Serving's default signature, else the model's only one, else none.
pub fn default_signature(endpoints: &[&Endpoint]) -> Option<String> {
    let sigs: Vec<&String> = endpoints
        .iter()
        .filter_map(|e| e.signature.as_ref())
        .collect();
    if sigs.iter().any(|s| *s == "serving_default") {
        return Some("serving_default".into());
    }
    match sigs.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

fn tensor(at: &str, name: &str, v: &Value, ep: &Endpoint, max: usize) -> Result<Tensor> {
    let meta = ep
        .inputs
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ServeError::bad(format!("{at}: the model has no input '{name}'")))?;
    let shape = json_shape(at, v)?;
    checked_count(at, &shape, meta.datatype.size().unwrap_or(1), max)?;
    let mut flat = Vec::new();
    flatten(v, &mut flat);
    let data = encode_elements(at, meta.datatype, &flat)?;
    Ok(Tensor {
        name: name.to_string(),
        datatype: meta.datatype,
        shape,
        data,
    })
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

/// Parses the body against the chosen endpoint (resolved by the caller
/// from `signature_name`).
pub fn parse(root: &Map<String, Value>, ep: &Endpoint, max: usize) -> Result<Request> {
    let single = match ep.inputs.as_slice() {
        [one] => Some(one.name.clone()),
        _ => None,
    };
    let inputs = if let Some(inst) = root.get("instances") {
        let rows = inst
            .as_array()
            .ok_or_else(|| ServeError::bad("instances: must be an array"))?;
        // Row form: stack each input across instances along a new first dimension.
        let mut columns: Vec<(String, Vec<Value>)> = ep
            .inputs
            .iter()
            .map(|m| (m.name.clone(), Vec::new()))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            match (row, &single) {
                (Value::Object(o), _) => {
                    for k in o.keys() {
                        if !columns.iter().any(|(n, _)| n == k) {
                            return Err(ServeError::bad(format!("instances[{i}].{k}: the model has no input '{k}'")));
                        }
                    }
                    for (n, col) in &mut columns {
                        col.push(o.get(n).cloned().ok_or_else(|| ServeError::bad(format!("instances[{i}].{n}: missing")))?);
                    }
                }
                (v, Some(_)) => columns[0].1.push(v.clone()),
                (_, None) => {
                    return Err(ServeError::bad(format!(
                        "instances[{i}]: the model has several inputs, so each instance must be an object of them"
                    )))
                }
            }
        }
        columns
            .into_iter()
            .map(|(n, col)| {
                tensor(
                    &format!("instances[*].{n}"),
                    &n,
                    &Value::Array(col),
                    ep,
                    max,
                )
            })
            .collect::<Result<Vec<_>>>()?
    } else if let Some(cols) = root.get("inputs") {
        match (cols, &single) {
            (Value::Object(o), _) if single.as_ref().is_none_or(|s| o.contains_key(s)) => o
                .iter()
                .map(|(n, v)| tensor(&format!("inputs.{n}"), n, v, ep, max))
                .collect::<Result<Vec<_>>>()?,
            (v, Some(n)) => vec![tensor("inputs", n, v, ep, max)?],
            (_, None) => {
                return Err(ServeError::bad(
                    "inputs: must be an object of the model's inputs",
                ))
            }
        }
    } else {
        return Err(ServeError::bad(
            "request body: needs \"instances\" or \"inputs\"",
        ));
    };
    Ok(Request {
        id: None,
        inputs,
        outputs: None,
        sequence: None,
        timeout: None,
    })
}

/// `predictions` (one entry per instance) or `outputs`.
pub fn write(resp: &Response, row_form: bool) -> Value {
    let nested: Vec<(&str, Value, &[usize])> = resp
        .outputs
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                nest(&t.json_elements(), &t.shape),
                t.shape.as_slice(),
            )
        })
        .collect();
    if !row_form {
        return match nested.as_slice() {
            [(_, v, _)] => json!({ "outputs": v }),
            many => {
                json!({ "outputs": many.iter().map(|(n, v, _)| (n.to_string(), v.clone())).collect::<Map<_, _>>() })
            }
        };
    }
    let rows =
        |v: &Value| -> Vec<Value> { v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]) };
    match nested.as_slice() {
        [(_, v, _)] => json!({ "predictions": rows(v) }),
        many => {
            let n = many
                .iter()
                .map(|(_, _, s)| s.first().copied().unwrap_or(1))
                .max()
                .unwrap_or(0);
            let preds: Vec<Value> = (0..n)
                .map(|i| {
                    many.iter()
                        .map(|(name, v, _)| {
                            (
                                name.to_string(),
                                rows(v).get(i).cloned().unwrap_or(Value::Null),
                            )
                        })
                        .collect::<Map<_, _>>()
                        .into()
                })
                .collect();
            json!({ "predictions": preds })
        }
    }
}
