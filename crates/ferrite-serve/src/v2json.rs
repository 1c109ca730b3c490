//! The v2 REST body: JSON, optionally followed by binary tensor data (the
//! binary tensor extension, `Inference-Header-Content-Length`).

use serde_json::{json, Map, Value};

use crate::engine::{Request, Response, SequenceCtl};
use crate::error::{Result, ServeError};
use crate::tensor::{checked_count, shape_from_i64, Datatype, Tensor};

fn field<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a Value> {
    obj.get(key)
        .ok_or_else(|| ServeError::bad(format!("{at}.{key}: missing")))
}

fn string(v: &Value, at: &str) -> Result<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| ServeError::bad(format!("{at}: must be a string")))
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ServeError::bad(format!("{at}: must be an object")))
}

/// A parameter as the protocols allow it: bool, integer or string.
pub fn param_bool(params: Option<&Map<String, Value>>, key: &str) -> Result<bool> {
    match params.and_then(|p| p.get(key)) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ServeError::bad(format!(
            "parameters.{key}: {v} is not a boolean"
        ))),
    }
}

fn sequence(params: Option<&Map<String, Value>>) -> Result<Option<SequenceCtl>> {
    let id = match params.and_then(|p| p.get("sequence_id")) {
        None => return Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(ServeError::bad(format!(
                "parameters.sequence_id: {v} is neither a non-negative integer nor a string"
            )))
        }
    };
    Ok(Some(SequenceCtl {
        id,
        start: param_bool(params, "sequence_start")?,
        end: param_bool(params, "sequence_end")?,
    }))
}

/// Client deadline from Triton's `timeout` parameter (microseconds).
pub fn timeout_param(params: Option<&Map<String, Value>>) -> Result<Option<std::time::Duration>> {
    match params.and_then(|p| p.get("timeout")) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|&t| t > 0)
            .map(|t| Some(std::time::Duration::from_micros(t)))
            .ok_or_else(|| {
                ServeError::bad(format!(
                    "parameters.timeout: {v} is not a positive number of microseconds"
                ))
            }),
    }
}

/// What the answer should look like: which outputs go binary.
pub struct OutputForm {
    pub all_binary: bool,
    pub binary: Vec<String>,
}

/// Parses a v2 infer body; `header_len` is the JSON length when binary
/// tensor data follows it.
pub fn parse_request(
    body: &[u8],
    header_len: Option<usize>,
    max_tensor_bytes: usize,
) -> Result<(Request, OutputForm)> {
    let (json_part, mut binary) = match header_len {
        None => (body, &[][..]),
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return Err(ServeError::bad(format!(
                "Inference-Header-Content-Length: {n} is longer than the body of {} bytes",
                body.len()
            )))
        }
    };
    let root: Value = serde_json::from_slice(json_part)
        .map_err(|e| ServeError::bad(format!("request body: invalid JSON: {e}")))?;
    let root = object(&root, "request body")?;
    let params = match root.get("parameters") {
        None => None,
        Some(p) => Some(object(p, "parameters")?),
    };
    let id = root.get("id").map(|v| string(v, "id")).transpose()?;
    let inputs_v = field(root, "inputs", "request")?
        .as_array()
        .ok_or_else(|| ServeError::bad("inputs: must be an array"))?;
    let mut inputs = Vec::with_capacity(inputs_v.len());
    for (i, inp) in inputs_v.iter().enumerate() {
        let at = format!("inputs[{i}]");
        let o = object(inp, &at)?;
        let name = string(field(o, "name", &at)?, &format!("{at}.name"))?;
        let dt_s = string(field(o, "datatype", &at)?, &format!("{at}.datatype"))?;
        let datatype = Datatype::parse(&dt_s).ok_or_else(|| {
            ServeError::bad(format!("{at}.datatype: '{dt_s}' is not a v2 datatype"))
        })?;
        let shape_v = field(o, "shape", &at)?
            .as_array()
            .ok_or_else(|| ServeError::bad(format!("{at}.shape: must be an array of integers")))?;
        let shape_i: Vec<i64> = shape_v
            .iter()
            .map(|d| {
                d.as_i64()
                    .ok_or_else(|| ServeError::bad(format!("{at}.shape: {d} is not an integer")))
            })
            .collect::<Result<_>>()?;
        let shape = shape_from_i64(&format!("{at}.shape"), &shape_i)?;
        checked_count(
            &format!("{at}.shape"),
            &shape,
            datatype.size().unwrap_or(1),
            max_tensor_bytes,
        )?;
        let iparams = match o.get("parameters") {
            None => None,
            Some(p) => Some(object(p, &format!("{at}.parameters"))?),
        };
        let tensor = match iparams.and_then(|p| p.get("binary_data_size")) {
            Some(size) => {
                let size = size
                    .as_u64()
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(|| {
                        ServeError::bad(format!(
                            "{at}.parameters.binary_data_size: {size} is not a byte count"
                        ))
                    })?;
                if header_len.is_none() {
                    return Err(ServeError::bad(format!(
                        "{at}.parameters.binary_data_size: binary data needs the Inference-Header-Content-Length header"
                    )));
                }
                if size > binary.len() {
                    return Err(ServeError::bad(format!(
                        "{at}.parameters.binary_data_size: {size} bytes asked, {} left in the body",
                        binary.len()
                    )));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                Tensor::from_binary(&at, name, datatype, shape, mine)?
            }
            None => Tensor::from_json(
                &format!("{at}.data"),
                name,
                datatype,
                shape,
                field(o, "data", &at)?,
            )?,
        };
        inputs.push(tensor);
    }
    if !binary.is_empty() {
        return Err(ServeError::bad(format!(
            "request body: {} bytes of binary data follow the inputs' binary_data_size",
            binary.len()
        )));
    }
    let mut form = OutputForm {
        all_binary: param_bool(params, "binary_data_output")?,
        binary: Vec::new(),
    };
    let outputs = match root.get("outputs") {
        None => None,
        Some(v) => {
            let arr = v
                .as_array()
                .ok_or_else(|| ServeError::bad("outputs: must be an array"))?;
            let mut names = Vec::with_capacity(arr.len());
            for (i, o) in arr.iter().enumerate() {
                let at = format!("outputs[{i}]");
                let o = object(o, &at)?;
                let name = string(field(o, "name", &at)?, &format!("{at}.name"))?;
                let op = match o.get("parameters") {
                    None => None,
                    Some(p) => Some(object(p, &format!("{at}.parameters"))?),
                };
                if param_bool(op, "binary_data")? {
                    form.binary.push(name.clone());
                }
                names.push(name);
            }
            Some(names)
        }
    };
    let request = Request {
        id,
        inputs,
        outputs,
        sequence: sequence(params)?,
        timeout: timeout_param(params)?,
    };
    Ok((request, form))
}

/// The JSON answer and, when any output is binary, the bytes after it.
pub fn write_response(resp: &Response, form: &OutputForm) -> (Vec<u8>, Option<usize>) {
    let mut binary = Vec::new();
    let outputs: Vec<Value> = resp
        .outputs
        .iter()
        .map(|t| {
            let mut o = json!({
                "name": t.name,
                "datatype": t.datatype.name(),
                "shape": t.shape,
            });
            if form.all_binary || form.binary.contains(&t.name) {
                let b = t.to_binary();
                o["parameters"] = json!({ "binary_data_size": b.len() });
                binary.extend_from_slice(&b);
            } else {
                o["data"] = t.json_data();
            }
            o
        })
        .collect();
    let mut root = json!({
        "model_name": resp.model_name,
        "model_version": resp.model_version,
        "outputs": outputs,
    });
    if let Some(id) = &resp.id {
        root["id"] = json!(id);
    }
    let mut body = serde_json::to_vec(&root).unwrap_or_default();
    if binary.is_empty() && !form.all_binary && form.binary.is_empty() {
        return (body, None);
    }
    let n = body.len();
    body.extend_from_slice(&binary);
    (body, Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    #[test]
    fn binary_and_json_inputs_mix() {
        let header = br#"{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT32","shape":[1],"data":[7]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}],"parameters":{"sequence_id":5,"sequence_start":true}}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&1f32.to_le_bytes());
        body.extend_from_slice(&2f32.to_le_bytes());
        let (req, form) = parse_request(&body, Some(header.len()), 1 << 20).unwrap();
        assert_eq!(
            req.inputs[0].data,
            Data::Raw([1f32.to_le_bytes(), 2f32.to_le_bytes()].concat())
        );
        assert_eq!(req.inputs[1].data, Data::Raw(7i32.to_le_bytes().to_vec()));
        assert_eq!(form.binary, vec!["y".to_string()]);
        let seq = req.sequence.unwrap();
        assert_eq!((seq.id.as_str(), seq.start, seq.end), ("5", true, false));
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], Option<usize>, &str); 7] = [
            (b"{", None, "invalid JSON"),
            (br#"{"inputs":[{"name":"a","shape":[1],"data":[1]}]}"#, None, "inputs[0].datatype: missing"),
            (br#"{"inputs":[{"name":"a","datatype":"FP33","shape":[1],"data":[1]}]}"#, None, "inputs[0].datatype: 'FP33'"),
            (br#"{"inputs":[{"name":"a","datatype":"FP32","shape":[-1],"data":[1]}]}"#, None, "inputs[0].shape: dimension -1"),
            (br#"{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1]}]}"#, None, "inputs[0].data: shape [2]"),
            (br#"{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#, Some(0), "binary_data_size: 4 bytes asked, 0 left"),
            (br#"{"inputs":[]}"#, Some(100), "Inference-Header-Content-Length: 100 is longer"),
        ];
        for (body, hl, want) in cases {
            // Some(0) stands for "the whole body is the header".
            let hl = hl.map(|h| if h == 0 { body.len() } else { h });
            let e = parse_request(body, hl, 1 << 20)
                .err()
                .unwrap_or_else(|| panic!("{want}: accepted"));
            assert!(e.to_string().contains(want), "{want} vs {e}");
        }
        let big = br#"{"inputs":[{"name":"a","datatype":"FP32","shape":[1000000],"data":[]}]}"#;
        assert!(matches!(
            parse_request(big, None, 1000).err(),
            Some(ServeError::TooLarge(_))
        ));
    }
}
