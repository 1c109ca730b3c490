//! A server on a loopback port over a temporary repository built from the
//! fixtures, and a raw HTTP/1.1 client (what `curl` would send).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferrite_serve::{Limits, Running, ServeOptions, Source};
use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
        .join("model.tflite")
}

/// Builds `REPO/<model>/<version>/model.tflite` (+ config.toml) in a fresh temp dir.
pub fn repository(tag: &str, models: &[(&str, &[u64], &Path, &str)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("ferrite-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (name, versions, model, config) in models {
        for v in *versions {
            let dir = root.join(name).join(v.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(model, dir.join("model.tflite")).unwrap();
        }
        if !config.is_empty() {
            std::fs::write(root.join(name).join("config.toml"), config).unwrap();
        }
    }
    root
}

pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub running: Option<Running>,
    pub addr: SocketAddr,
    repo: PathBuf,
}

impl Server {
    pub fn start(repo: &Path, max_body: usize) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let opts = ServeOptions {
            source: Source::Repository(repo.to_path_buf()),
            host: "127.0.0.1".into(),
            http_port: 0,
            grpc_port: None,
            threads: 1,
            limits: Limits {
                max_body_bytes: max_body,
                max_tensor_bytes: 16 << 20,
            },
        };
        let running = rt
            .block_on(ferrite_serve::start(opts))
            .expect("server starts");
        let addr = running.http_addr;
        Server {
            rt,
            running: Some(running),
            addr,
            repo: repo.to_path_buf(),
        }
    }

    pub fn stop(mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}

/// The temporary repository goes with the server, also when a test fails.
impl Drop for Server {
    fn drop(&mut self) {
        if self.repo.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(&self.repo);
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(raw).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    parse_reply(&buf)
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Reply {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    send_raw(addr, &raw)
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"")
}

pub fn post_json(addr: SocketAddr, path: &str, v: &Value) -> Reply {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json".into())],
        &serde_json::to_vec(v).unwrap(),
    )
}

fn parse_reply(buf: &[u8]) -> Reply {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete HTTP head");
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}

/// A v2 body with binary inputs: (JSON header, full body).
pub fn binary_body(mut header: Value, blobs: &[Vec<u8>]) -> (usize, Vec<u8>) {
    for (i, b) in blobs.iter().enumerate() {
        header["inputs"][i]["parameters"] = serde_json::json!({ "binary_data_size": b.len() });
    }
    let mut body = serde_json::to_vec(&header).unwrap();
    let n = body.len();
    for b in blobs {
        body.extend_from_slice(b);
    }
    (n, body)
}

pub fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

pub fn le_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
