//! The gRPC front end (`inference.GRPCInferenceService`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::engine::{self, SequenceCtl};
use crate::error::{Result, ServeError};
use crate::generated::grpc_inference_service_server::GrpcInferenceService;
use crate::generated::infer_parameter::ParameterChoice;
use crate::generated::*;
use crate::tensor::{checked_count, shape_from_i64, Data, Datatype, Tensor};
use crate::App;

pub struct Service(pub Arc<App>);

fn param_bool(p: &HashMap<String, InferParameter>, key: &str) -> Result<bool> {
    match p.get(key).and_then(|v| v.parameter_choice.as_ref()) {
        None => Ok(false),
        Some(ParameterChoice::BoolParam(b)) => Ok(*b),
        Some(_) => Err(ServeError::bad(format!(
            "parameters.{key}: not a bool_param"
        ))),
    }
}

fn sequence(p: &HashMap<String, InferParameter>) -> Result<Option<SequenceCtl>> {
    let id = match p
        .get("sequence_id")
        .and_then(|v| v.parameter_choice.as_ref())
    {
        None => return Ok(None),
        Some(ParameterChoice::Int64Param(i)) if *i >= 0 => i.to_string(),
        Some(ParameterChoice::Uint64Param(i)) => i.to_string(),
        Some(ParameterChoice::StringParam(s)) => s.clone(),
        Some(_) => {
            return Err(ServeError::bad(
                "parameters.sequence_id: must be a non-negative integer or a string",
            ))
        }
    };
    Ok(Some(SequenceCtl {
        id,
        start: param_bool(p, "sequence_start")?,
        end: param_bool(p, "sequence_end")?,
    }))
}

/// Typed `contents` as little-endian bytes or strings.
fn contents_data(at: &str, dt: Datatype, c: &InferTensorContents) -> Result<Data> {
    fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(|&x| f(x)).collect()
    }
    fn narrow<T: TryFrom<i64> + Copy, const N: usize>(
        at: &str,
        v: &[i64],
        f: impl Fn(T) -> [u8; N],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(v.len() * N);
        for (i, &x) in v.iter().enumerate() {
            let y = T::try_from(x).map_err(|_| {
                ServeError::bad(format!("{at}.contents: element {i} ({x}) is out of range"))
            })?;
            out.extend_from_slice(&f(y));
        }
        Ok(out)
    }
    let ints: Vec<i64> = c.int_contents.iter().map(|&x| x as i64).collect();
    let uints: Vec<i64> = c.uint_contents.iter().map(|&x| x as i64).collect();
    Ok(match dt {
        Datatype::Bool => Data::Raw(c.bool_contents.iter().map(|&b| b as u8).collect()),
        Datatype::I8 => Data::Raw(narrow::<i8, 1>(at, &ints, i8::to_le_bytes)?),
        Datatype::I16 => Data::Raw(narrow::<i16, 2>(at, &ints, i16::to_le_bytes)?),
        Datatype::I32 => Data::Raw(le(&c.int_contents, i32::to_le_bytes)),
        Datatype::I64 => Data::Raw(le(&c.int64_contents, i64::to_le_bytes)),
        Datatype::U8 => Data::Raw(narrow::<u8, 1>(at, &uints, u8::to_le_bytes)?),
        Datatype::U16 => Data::Raw(narrow::<u16, 2>(at, &uints, u16::to_le_bytes)?),
        Datatype::U32 => Data::Raw(le(&c.uint_contents, u32::to_le_bytes)),
        Datatype::U64 => Data::Raw(le(&c.uint64_contents, u64::to_le_bytes)),
        Datatype::F32 => Data::Raw(le(&c.fp32_contents, f32::to_le_bytes)),
        Datatype::F64 => Data::Raw(le(&c.fp64_contents, f64::to_le_bytes)),
        Datatype::Bytes => Data::Strings(c.bytes_contents.clone()),
        Datatype::F16 => {
            return Err(ServeError::bad(format!(
                "{at}.contents: FP16 needs raw_input_contents"
            )))
        }
    })
}

fn to_request(app: &App, m: ModelInferRequest) -> Result<engine::Request> {
    let raw = !m.raw_input_contents.is_empty();
    if raw && m.raw_input_contents.len() != m.inputs.len() {
        return Err(ServeError::bad(format!(
            "raw_input_contents: {} entries for {} inputs",
            m.raw_input_contents.len(),
            m.inputs.len()
        )));
    }
    let mut inputs = Vec::with_capacity(m.inputs.len());
    for (i, inp) in m.inputs.into_iter().enumerate() {
        let at = format!("inputs[{i}]");
        let datatype = Datatype::parse(&inp.datatype).ok_or_else(|| {
            ServeError::bad(format!(
                "{at}.datatype: '{}' is not a v2 datatype",
                inp.datatype
            ))
        })?;
        let shape = shape_from_i64(&format!("{at}.shape"), &inp.shape)?;
        checked_count(
            &format!("{at}.shape"),
            &shape,
            datatype.size().unwrap_or(1),
            app.limits.max_tensor_bytes,
        )?;
        let t = if raw {
            Tensor::from_binary(&at, inp.name, datatype, shape, &m.raw_input_contents[i])?
        } else {
            let c = inp.contents.unwrap_or_default();
            let t = Tensor {
                data: contents_data(&at, datatype, &c)?,
                name: inp.name,
                datatype,
                shape,
            };
            t.check_len(&at)?;
            t
        };
        inputs.push(t);
    }
    let outputs = if m.outputs.is_empty() {
        None
    } else {
        Some(m.outputs.into_iter().map(|o| o.name).collect())
    };
    let timeout = match m
        .parameters
        .get("timeout")
        .and_then(|v| v.parameter_choice.as_ref())
    {
        None => None,
        Some(ParameterChoice::Int64Param(us)) if *us > 0 => {
            Some(std::time::Duration::from_micros(*us as u64))
        }
        Some(_) => {
            return Err(ServeError::bad(
                "parameters.timeout: must be a positive int64_param (microseconds)",
            ))
        }
    };
    Ok(engine::Request {
        id: (!m.id.is_empty()).then_some(m.id),
        inputs,
        outputs,
        sequence: sequence(&m.parameters)?,
        timeout,
    })
}

fn metadata(app: &App, name: &str, version: &str) -> Result<ModelMetadataResponse> {
    let v = app.model_metadata(name, version)?;
    let tensors = |key: &str| -> Vec<model_metadata_response::TensorMetadata> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| model_metadata_response::TensorMetadata {
                name: t["name"].as_str().unwrap_or_default().into(),
                datatype: t["datatype"].as_str().unwrap_or_default().into(),
                shape: t["shape"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_i64())
                    .collect(),
            })
            .collect()
    };
    Ok(ModelMetadataResponse {
        name: name.to_string(),
        versions: v["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        platform: v["platform"].as_str().unwrap_or_default().into(),
        inputs: tensors("inputs"),
        outputs: tensors("outputs"),
    })
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        r: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        let r = r.into_inner();
        let ready = self.0.registry.resolve(&r.name, &r.version).is_ok();
        Ok(Response::new(ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: "ferrite".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: vec![
                "binary_tensor_data".into(),
                "sequence".into(),
                "model_repository".into(),
            ],
        }))
    }

    async fn model_metadata(
        &self,
        r: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let r = r.into_inner();
        metadata(&self.0, &r.name, &r.version)
            .map(Response::new)
            .map_err(|e| e.grpc_status())
    }

    async fn model_infer(
        &self,
        r: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let started = Instant::now();
        let m = r.into_inner();
        let label = m
            .model_name
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let app = Arc::clone(&self.0);
        // Spawned for the same reasons as the REST handler: finish accepted
        // work when the client goes away, and turn panics into errors.
        let task = tokio::spawn(async move {
            let (served, sig) = app.registry.resolve(&m.model_name, &m.model_version)?;
            let req = to_request(&app, m)?;
            served.infer(sig, req).await
        });
        let r = match task.await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Internal(format!("request handler failed: {e}"))),
        };
        let status = r.as_ref().map_or_else(|e| e.http_status(), |_| 200);
        self.0
            .metrics
            .record(&label, "grpc", status, started.elapsed());
        let resp = r.map_err(|e| e.grpc_status())?;
        let mut out = ModelInferResponse {
            model_name: resp.model_name,
            model_version: resp.model_version,
            id: resp.id.unwrap_or_default(),
            ..Default::default()
        };
        for t in resp.outputs {
            out.raw_output_contents.push(t.to_binary());
            out.outputs.push(model_infer_response::InferOutputTensor {
                name: t.name,
                datatype: t.datatype.name().into(),
                shape: t.shape.iter().map(|&d| d as i64).collect(),
                ..Default::default()
            });
        }
        Ok(Response::new(out))
    }
}
