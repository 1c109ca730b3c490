//! The HTTP/REST front end: Open Inference Protocol v2, TF Serving's v1
//! predict, and `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::engine::VersionState;
use crate::error::{Result, ServeError};
use crate::{v1, v2json, App};

const HEADER_LEN: &str = "inference-header-content-length";

pub fn router(app: Arc<App>) -> Router {
    let limit = app.limits.max_body_bytes;
    Router::new()
        .route("/v2", get(server_metadata))
        .route(
            "/v2/health/live",
            get(|| async { json_response(200, json!({"live": true})) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { json_response(200, json!({"ready": true})) }),
        )
        .route(
            "/v2/repository/index",
            axum::routing::post(repository_index),
        )
        .route("/v2/models/{*rest}", get(v2_models).post(v2_models))
        .route("/v1/models/{*rest}", get(v1_models).post(v1_models))
        .route("/metrics", get(metrics))
        .fallback(|| async { error_response(&ServeError::NotFound("no such endpoint".into())) })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

fn json_response(status: u16, v: Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ServeError) -> Response {
    json_response(e.http_status(), json!({ "error": e.to_string() }))
}

async fn server_metadata() -> Response {
    json_response(
        200,
        json!({
            "name": "ferrite",
            "version": env!("CARGO_PKG_VERSION"),
            "extensions": ["binary_tensor_data", "sequence", "model_repository"],
        }),
    )
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut r = Response::new(Body::from(app.metrics.render(&app.registry)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

async fn repository_index(State(app): State<Arc<App>>) -> Response {
    let mut out = Vec::new();
    for m in app.registry.models.values() {
        for (v, st) in &m.versions {
            let mut e = json!({ "name": m.name, "version": v.to_string() });
            match st {
                VersionState::Ready(_) => e["state"] = json!("READY"),
                VersionState::Failed(r) => {
                    e["state"] = json!("UNAVAILABLE");
                    e["reason"] = json!(r);
                }
            }
            out.push(e);
        }
    }
    json_response(200, Value::Array(out))
}

/// `NAME[/SIGNATURE][/versions/V][/ready|/infer]` -> (name, version, action).
fn split_v2(rest: &str) -> (&str, &str, &str) {
    let (path, action) = match rest.rsplit_once('/') {
        Some((p, a @ ("ready" | "infer"))) => (p, a),
        _ => (rest, ""),
    };
    match path.rsplit_once("/versions/") {
        Some((name, v)) if !v.contains('/') => (name, v, action),
        _ => (path, "", action),
    }
}

async fn v2_models(
    State(app): State<Arc<App>>,
    method: Method,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let (name, version, action) = split_v2(&rest);
    // A model or signature may itself be called "ready"/"infer".
    let (name, version, action) = if action == "ready"
        && method == Method::GET
        && version.is_empty()
        && app.registry.resolve(&rest, "").is_ok()
    {
        (rest.as_str(), "", "")
    } else {
        (name, version, action)
    };
    match (method, action) {
        (Method::GET, "") => match app.model_metadata(name, version) {
            Ok(v) => json_response(200, v),
            Err(e) => error_response(&e),
        },
        (Method::GET, "ready") => match app.registry.resolve(name, version) {
            Ok(_) => json_response(200, json!({"name": name, "ready": true})),
            Err(e) => error_response(&e),
        },
        (Method::POST, "infer") => {
            let started = Instant::now();
            let (name, version) = (name.to_string(), version.to_string());
            let app2 = Arc::clone(&app);
            // Spawned so a client that disconnects cannot cancel the work
            // half-way, and a panic becomes a 500 instead of a dropped connection.
            let task =
                tokio::spawn(async move { infer_v2(&app2, &name, &version, &headers, body).await });
            let (model, r) = match task.await {
                Ok(x) => x,
                Err(e) => (
                    String::new(),
                    Err(ServeError::Internal(format!("request handler failed: {e}"))),
                ),
            };
            let resp = r.unwrap_or_else(|e| error_response(&e));
            app.metrics
                .record(&model, "http", resp.status().as_u16(), started.elapsed());
            resp
        }
        _ => error_response(&ServeError::NotFound(format!(
            "no such endpoint: /v2/models/{rest}"
        ))),
    }
}

async fn infer_v2(
    app: &App,
    name: &str,
    version: &str,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> (String, Result<Response>) {
    let label = app.metric_label(name);
    let r = async {
        let (served, sig) = app.registry.resolve(name, version)?;
        let body = body.map_err(body_error)?;
        let header_len = match headers.get(HEADER_LEN) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        ServeError::bad("Inference-Header-Content-Length: not a byte count")
                    })?,
            ),
        };
        let (req, form) = v2json::parse_request(&body, header_len, app.limits.max_tensor_bytes)?;
        let resp = served.infer(sig, req).await?;
        let (bytes, json_len) = v2json::write_response(&resp, &form);
        let mut r = Response::new(Body::from(bytes));
        let ct = if json_len.is_some() {
            "application/octet-stream"
        } else {
            "application/json"
        };
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        if let Some(n) = json_len {
            r.headers_mut().insert(HEADER_LEN, HeaderValue::from(n));
        }
        Ok(r)
    }
    .await;
    (label, r)
}

fn body_error(e: BytesRejection) -> ServeError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ServeError::TooLarge(format!("request body: larger than the limit ({e})"))
    } else {
        ServeError::bad(format!("request body: could not be read ({e})"))
    }
}

/// `NAME[/versions/V]:predict`, or `NAME[/versions/V]` for status.
async fn v1_models(
    State(app): State<Arc<App>>,
    method: Method,
    Path(rest): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (path, verb) = match rest.rsplit_once(':') {
        Some((p, v)) => (p, v),
        None => (rest.as_str(), ""),
    };
    let (name, version) = match path.rsplit_once("/versions/") {
        Some((n, v)) => (n, v),
        None => (path, ""),
    };
    let label = app.metric_label(name);
    let resp = match (method, verb) {
        (Method::GET, "") => match app.registry.resolve(name, version) {
            Ok((s, _)) => json_response(
                200,
                json!({"model_version_status": [{"version": s.version.to_string(), "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""}}]}),
            ),
            Err(e) => error_response(&e),
        },
        (Method::POST, "predict") => {
            let app2 = Arc::clone(&app);
            let (name, version) = (name.to_string(), version.to_string());
            let task = tokio::spawn(async move { predict_v1(&app2, &name, &version, body).await });
            match task.await {
                Ok(Ok(v)) => json_response(200, v),
                Ok(Err(e)) => error_response(&e),
                Err(e) => error_response(&ServeError::Internal(format!(
                    "request handler failed: {e}"
                ))),
            }
        }
        _ => error_response(&ServeError::NotFound(format!(
            "no such endpoint: /v1/models/{rest}"
        ))),
    };
    if verb == "predict" {
        app.metrics
            .record(&label, "http-v1", resp.status().as_u16(), started.elapsed());
    }
    resp
}

async fn predict_v1(
    app: &App,
    name: &str,
    version: &str,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Value> {
    let (served, _) = app.registry.resolve(name, version)?;
    let body = body.map_err(body_error)?;
    let root: Value = serde_json::from_slice(&body)
        .map_err(|e| ServeError::bad(format!("request body: invalid JSON: {e}")))?;
    let root = root
        .as_object()
        .ok_or_else(|| ServeError::bad("request body: must be an object"))?;
    let sig = match root.get("signature_name") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(ServeError::bad(format!(
                "signature_name: {v} is not a string"
            )))
        }
        None => v1::default_signature(&served.endpoints.values().collect::<Vec<_>>()),
    };
    let ep = served.endpoints.get(&sig).ok_or_else(|| {
        ServeError::bad(format!(
            "signature_name: model '{name}' has no signature '{}'",
            sig.clone().unwrap_or_default()
        ))
    })?;
    let req = v1::parse(root, ep, app.limits.max_tensor_bytes)?;
    let row_form = root.contains_key("instances");
    let resp = served.infer(sig, req).await?;
    Ok(v1::write(&resp, row_form))
}

#[cfg(test)]
mod tests {
    use super::split_v2;

    #[test]
    fn v2_paths_split() {
        assert_eq!(split_v2("m"), ("m", "", ""));
        assert_eq!(split_v2("m/ready"), ("m", "", "ready"));
        assert_eq!(split_v2("m/versions/2/infer"), ("m", "2", "infer"));
        assert_eq!(split_v2("m/get/versions/1"), ("m/get", "1", ""));
        assert_eq!(split_v2("m/get/infer"), ("m/get", "", "infer"));
    }
}
