//! `ferrite serve`: the Open Inference Protocol (KServe v2) over REST and
//! gRPC, TF Serving's v1 predict, stateful sequences, bounded queues and
//! Prometheus metrics, for the models ferrite runs.

mod config;
mod engine;
mod error;
mod grpc;
#[allow(clippy::all, missing_docs)]
mod generated {
    include!("grpc_generated.rs");
}
mod metrics;
mod rest;
mod run;
mod tensor;
mod v1;
mod v2json;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::ModelConfig;
pub use error::ServeError;

use engine::Registry;
use error::Result;

/// What to serve.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder with one subfolder per model and numbered version folders.
    Repository(PathBuf),
    /// One `.tflite` file, served as a model named after the file.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_tensor_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub source: Source,
    pub host: String,
    /// 0 picks a free port.
    pub http_port: u16,
    /// `None` disables gRPC.
    pub grpc_port: Option<u16>,
    /// Kernel threads per interpreter.
    pub threads: usize,
    pub limits: Limits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            source: Source::Repository(PathBuf::from(".")),
            host: "127.0.0.1".into(),
            http_port: 8000,
            grpc_port: Some(8001),
            threads: 1,
            limits: Limits {
                max_body_bytes: 64 << 20,
                max_tensor_bytes: 64 << 20,
            },
        }
    }
}

pub(crate) struct App {
    pub registry: Registry,
    pub metrics: metrics::Metrics,
    pub limits: Limits,
}

impl App {
    /// The metrics label for a requested model: its name, or one shared
    /// label for unknown names so clients cannot grow the series without bound.
    pub fn metric_label(&self, requested: &str) -> String {
        match self.registry.entry(requested) {
            Ok((e, _)) => e.name.clone(),
            Err(_) => "<unknown>".into(),
        }
    }

    pub fn model_metadata(&self, name: &str, version: &str) -> Result<Value> {
        let (entry, _) = self.registry.entry(name)?;
        let (served, sig) = self.registry.resolve(name, version)?;
        let ep = &served.endpoints[&sig];
        let tensors = |v: &[run::TensorMeta]| -> Vec<Value> {
            v.iter()
                .map(|t| json!({"name": t.name, "datatype": t.datatype.name(), "shape": t.shape}))
                .collect()
        };
        let versions: Vec<String> = entry
            .versions
            .iter()
            .filter(|(_, s)| matches!(s, engine::VersionState::Ready(_)))
            .map(|(v, _)| v.to_string())
            .collect();
        Ok(json!({
            "name": name,
            "versions": versions,
            "platform": "tflite",
            "inputs": tensors(&ep.inputs),
            "outputs": tensors(&ep.outputs),
        }))
    }
}

/// A started server; dropping it does not stop it, `shutdown` does.
pub struct Running {
    pub http_addr: SocketAddr,
    pub grpc_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, answers the requests already accepted, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }

    /// Waits until the server stops by itself (it does not).
    pub async fn wait(self) {
        let _ = self.done.await;
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("model repository {0}: {1}")]
    Repository(PathBuf, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

/// Loads every model (failures leave that model not ready) and starts
/// listening. Call inside a multi-threaded tokio runtime.
pub async fn start(opts: ServeOptions) -> Result<Running, StartError> {
    let sources = match &opts.source {
        Source::Repository(dir) => {
            config::scan_repository(dir).map_err(|e| StartError::Repository(dir.clone(), e))?
        }
        Source::File(f) => vec![config::single_model(f)],
    };
    let threads = opts.threads;
    let max_tensor = opts.limits.max_tensor_bytes;
    let registry =
        tokio::task::spawn_blocking(move || Registry::load(sources, threads, max_tensor))
            .await
            .expect("model loading does not panic");
    let app = Arc::new(App {
        registry,
        metrics: metrics::Metrics::default(),
        limits: opts.limits.clone(),
    });
    let http_at = format!("{}:{}", opts.host, opts.http_port);
    let http = TcpListener::bind(&http_at)
        .await
        .map_err(|e| StartError::Bind(http_at.clone(), e))?;
    let http_addr = http
        .local_addr()
        .map_err(|e| StartError::Bind(http_at, e))?;
    let grpc = match opts.grpc_port {
        None => None,
        Some(p) => {
            let at = format!("{}:{p}", opts.host);
            let l = TcpListener::bind(&at)
                .await
                .map_err(|e| StartError::Bind(at.clone(), e))?;
            let a = l.local_addr().map_err(|e| StartError::Bind(at, e))?;
            Some((l, a))
        }
    };
    let grpc_addr = grpc.as_ref().map(|g| g.1);
    let (stop, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();
    let router = rest::router(Arc::clone(&app));
    let rx = stop_rx.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(http, router)
            .with_graceful_shutdown(stopped(rx))
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));
    if let Some((listener, _)) = grpc {
        let svc = generated::grpc_inference_service_server::GrpcInferenceServiceServer::new(
            grpc::Service(Arc::clone(&app)),
        )
        .max_decoding_message_size(opts.limits.max_body_bytes)
        .max_encoding_message_size(usize::MAX);
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            if let Err(e) = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(incoming, stopped(rx))
                .await
            {
                tracing::error!(error = %e, "gRPC server failed");
            }
        }));
    }
    let reaper_app = Arc::clone(&app);
    let mut rx = stop_rx;
    let reaper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => reaper_app.registry.reap(),
                _ = rx.wait_for(|s| *s) => break,
            }
        }
    });
    let done = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
        let _ = reaper.await;
    });
    tracing::info!(http = %http_addr, grpc = ?grpc_addr, "serving");
    Ok(Running {
        http_addr,
        grpc_addr,
        stop,
        done,
    })
}

/// Runs the server until SIGTERM or Ctrl-C, then drains and returns.
pub fn serve_blocking(opts: ServeOptions) -> Result<(), StartError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Bind("runtime".into(), e))?;
    rt.block_on(async move {
        let running = start(opts).await?;
        let stop = running.stopper();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: draining accepted requests");
            let _ = stop.send(true);
        });
        running.wait().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
