//! `ferrite serve`: an inference server (KServe v2 / Open Inference
//! Protocol over REST and gRPC, TF Serving's v1 predict).

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use ferrite_serve::{Limits, ServeOptions, Source};

/// Serve models over HTTP/REST and gRPC
///
/// Serves a model repository (one folder per model, numbered version
/// folders, optional config.toml per model) or one .tflite file. Speaks the
/// Open Inference Protocol v2 (REST on --http-port, gRPC on --grpc-port)
/// and TF Serving's POST /v1/models/NAME:predict; Prometheus metrics on
/// GET /metrics. SIGTERM drains the requests already accepted.
#[derive(clap::Args)]
pub struct Args {
    /// A single .tflite file to serve (named after the file).
    #[arg(
        value_name = "MODEL",
        conflicts_with = "model_repository",
        required_unless_present = "model_repository"
    )]
    pub model: Option<PathBuf>,
    /// A model repository folder.
    #[arg(long, value_name = "DIR")]
    pub model_repository: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub host: String,
    #[arg(long, default_value_t = 8000)]
    pub http_port: u16,
    /// gRPC port; 0 picks a free one.
    #[arg(long, default_value_t = 8001)]
    pub grpc_port: u16,
    /// Do not serve gRPC.
    #[arg(long)]
    pub no_grpc: bool,
    /// Kernel threads per interpreter (a model's config.toml may override).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_body_bytes: usize,
    /// Largest tensor a request may send or make, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_tensor_bytes: usize,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    pub log_level: tracing_subscriber::filter::LevelFilter,
}

pub fn run(args: Args, _out: &mut dyn Write) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let source = match (args.model, args.model_repository) {
        (Some(f), None) => Source::File(f),
        (None, Some(d)) => Source::Repository(d),
        _ => return Err(anyhow!("give either MODEL or --model-repository DIR")),
    };
    let opts = ServeOptions {
        source,
        host: args.host,
        http_port: args.http_port,
        grpc_port: (!args.no_grpc).then_some(args.grpc_port),
        threads: args.threads.max(1),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_tensor_bytes: args.max_tensor_bytes,
        },
    };
    ferrite_serve::serve_blocking(opts)?;
    Ok(())
}
