//! Hostile and unlucky clients: malformed bodies, wrong types and shapes,
//! unknown models, lying binary headers, disconnects, overload and a
//! bounded load test. Loopback only; every loop is bounded.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use ferrite::{Interpreter, Model, Options};
use serde_json::json;

fn fc_request(x: &[f32]) -> serde_json::Value {
    json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10], "data": x}]})
}

const FC: &str = "/v2/models/fc/serving_default/infer";

#[test]
fn malformed_requests_get_400_naming_the_field() {
    let repo = repository(
        "faults",
        &[("fc", &[1], &fixture("fully_connected_2d"), "")],
    );
    let s = Server::start(&repo, 64 << 10);
    let x = vec![0.5f32; 30];
    let cases = [
        (
            json!({"inputs": [{"name": "x", "datatype": "INT32", "shape": [3, 10], "data": vec![1; 30]}]}),
            "inputs[0].datatype",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [10, 3], "data": x}]}),
            "inputs[0].shape",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10], "data": [1.0]}]}),
            "inputs[0].data",
        ),
        (
            json!({"inputs": [{"name": "y", "datatype": "FP32", "shape": [3, 10], "data": x}]}),
            "inputs[0].name",
        ),
        (json!({"inputs": []}), "input 'x' is missing"),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10], "data": x}], "outputs": [{"name": "nope"}]}),
            "outputs[0].name",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10], "data": ["a"]}]}),
            "is not a valid FP32",
        ),
        (json!({"inputs": "x"}), "inputs: must be an array"),
    ];
    for (body, want) in cases {
        let r = post_json(s.addr, FC, &body);
        assert_eq!(
            r.status,
            400,
            "{want}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.error().contains(want), "{want} vs {}", r.error());
    }
    // Not JSON at all.
    let r = request(s.addr, "POST", FC, &[], b"{\"inputs\": [");
    assert_eq!(r.status, 400);
    assert!(r.error().contains("invalid JSON"));
    // A binary header longer than the body.
    let (n, body) = binary_body(
        json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10]}]}),
        &[le_f32(&x)],
    );
    let r = request(
        s.addr,
        "POST",
        FC,
        &[(
            "Inference-Header-Content-Length",
            (body.len() + 1).to_string(),
        )],
        &body,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.error().contains("Inference-Header-Content-Length"),
        "{}",
        r.error()
    );
    // Binary sizes that overrun what follows the header.
    let r = request(
        s.addr,
        "POST",
        FC,
        &[("Inference-Header-Content-Length", n.to_string())],
        &body[..body.len() - 4],
    );
    assert_eq!(r.status, 400);
    assert!(r.error().contains("binary_data_size"), "{}", r.error());
    // Unknown models, versions, signatures.
    assert_eq!(
        post_json(s.addr, "/v2/models/nope/infer", &fc_request(&x)).status,
        404
    );
    assert_eq!(
        post_json(s.addr, "/v2/models/fc/versions/9/infer", &fc_request(&x)).status,
        404
    );
    assert_eq!(
        post_json(s.addr, "/v2/models/fc/versions/x/infer", &fc_request(&x)).status,
        400
    );
    assert_eq!(
        post_json(s.addr, "/v2/models/fc/other/infer", &fc_request(&x)).status,
        404
    );
    // Over the body limit (64 KiB here), and over the tensor limit.
    let big = vec![b' '; 100 << 10];
    assert_eq!(request(s.addr, "POST", FC, &[], &big).status, 413);
    let huge = json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1 << 20, 1 << 20], "data": []}]});
    assert_eq!(post_json(s.addr, FC, &huge).status, 413);
    // The server is still fine, and unknown names share one metrics label.
    assert_eq!(post_json(s.addr, FC, &fc_request(&x)).status, 200);
    let metrics = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(!metrics.contains("model=\"nope\""), "{metrics}");
    assert!(
        metrics.contains(
            "ferrite_requests_total{model=\"<unknown>\",protocol=\"http\",status=\"404\"} 1"
        ),
        "{metrics}"
    );
    s.stop();
}

#[test]
fn truncated_bodies_and_disconnects_leave_the_server_serving() {
    let repo = repository(
        "disconnect",
        &[(
            "fc",
            &[1],
            &fixture("fully_connected_2d"),
            "instances = 1\n",
        )],
    );
    let s = Server::start(&repo, 1 << 20);
    let body = serde_json::to_vec(&fc_request(&[0.25; 30])).unwrap();
    // Content-Length promises more than arrives, then the client half-closes.
    let mut c = TcpStream::connect(s.addr).unwrap();
    write!(
        c,
        "POST {FC} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len() + 50
    )
    .unwrap();
    c.write_all(&body).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut c, &mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 400"),
        "{head}"
    );
    // Clients that vanish mid-body and right after sending.
    for cut in [10, body.len() / 2, body.len()] {
        let mut c = TcpStream::connect(s.addr).unwrap();
        write!(
            c,
            "POST {FC} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        c.write_all(&body[..cut]).unwrap();
        drop(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    // The one interpreter came back each time.
    for _ in 0..5 {
        assert_eq!(post_json(s.addr, FC, &fc_request(&[0.25; 30])).status, 200);
    }
    let metrics = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(
        metrics.contains("ferrite_queue_depth{model=\"fc\",version=\"1\"} 0"),
        "{metrics}"
    );
    s.stop();
}

#[test]
fn a_thousand_requests_from_64_clients_all_answered_once() {
    let repo = repository(
        "load",
        &[(
            "fc",
            &[1],
            &fixture("fully_connected_2d"),
            "instances = 2\nmax_queue = 16\n",
        )],
    );
    let s = Server::start(&repo, 1 << 20);
    let m = Model::load(fixture("fully_connected_2d")).unwrap();
    let mut reference = Interpreter::new(&m, Options::default()).unwrap();
    let input =
        |k: usize| -> Vec<f32> { (0..30).map(|j| ((k * 31 + j) % 23) as f32 - 11.0).collect() };
    let expected: Vec<Vec<f32>> = (0..1000)
        .map(|k| {
            let mut r = reference.signature("serving_default").unwrap();
            r.set_input("x", &input(k)).unwrap();
            r.invoke().unwrap();
            r.output_as::<f32>("output_0").unwrap().to_vec()
        })
        .collect();
    let expected = Arc::new(expected);
    let addr = s.addr;
    let started = Instant::now();
    let handles: Vec<_> = (0..64)
        .map(|c| {
            let expected = Arc::clone(&expected);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for k in (c..1000).step_by(64) {
                    let mut body = fc_request(&input(k));
                    body["id"] = json!(k.to_string());
                    let r = post_json(addr, FC, &body);
                    match r.status {
                        200 => {
                            let v = r.json();
                            assert_eq!(v["id"], k.to_string());
                            assert_eq!(f32s(&v["outputs"][0]["data"]), expected[k], "request {k}");
                            seen.push((k, true));
                        }
                        429 => seen.push((k, false)),
                        other => panic!("request {k}: status {other}: {}", r.error()),
                    }
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<(usize, bool)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(
        all.iter().map(|a| a.0).collect::<Vec<_>>(),
        (0..1000).collect::<Vec<_>>()
    );
    let ok = all.iter().filter(|a| a.1).count();
    assert!(ok > 0);
    assert!(started.elapsed() < Duration::from_secs(120));
    let metrics = String::from_utf8(get(addr, "/metrics").body).unwrap();
    let served: u64 = metrics
        .lines()
        .find(|l| {
            l.starts_with("ferrite_requests_total{model=\"fc\",protocol=\"http\",status=\"200\"}")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert_eq!(served as usize, ok);
    s.stop();
}

#[test]
fn overload_beyond_the_queue_answers_429_fast() {
    // One interpreter, no queue: at most one request at a time is admitted.
    let repo = repository(
        "overload",
        &[(
            "mlp",
            &[1],
            &fixture("dynamic_batch_mlp"),
            "instances = 1\nmax_queue = 0\n",
        )],
    );
    let s = Server::start(&repo, 8 << 20);
    let rows = 100_000;
    let x: Vec<f32> = (0..rows * 6).map(|k| (k % 7) as f32 * 0.1).collect();
    let (n, body) = binary_body(
        json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [rows, 6]}], "outputs": [{"name": "output_0", "parameters": {"binary_data": true}}]}),
        &[le_f32(&x)],
    );
    let body = Arc::new(body);
    let barrier = Arc::new(Barrier::new(16));
    let addr = s.addr;
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (body, barrier) = (Arc::clone(&body), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let t = Instant::now();
                let r = request(
                    addr,
                    "POST",
                    "/v2/models/mlp/serving_default/infer",
                    &[("Inference-Header-Content-Length", n.to_string())],
                    &body,
                );
                (r.status, t.elapsed(), r.body.len())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let rejected: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(ok + rejected.len(), 16, "{results:?}");
    assert!(ok >= 1 && !rejected.is_empty(), "{results:?}");
    let slowest = rejected.iter().map(|r| r.1).max().unwrap();
    assert!(slowest < Duration::from_secs(2), "429 took {slowest:?}");
    s.stop();
}

#[test]
fn shutdown_drains_accepted_requests() {
    let repo = repository(
        "drain",
        &[(
            "mlp",
            &[1],
            &fixture("dynamic_batch_mlp"),
            "instances = 1\nmax_queue = 8\n",
        )],
    );
    let s = Server::start(&repo, 8 << 20);
    let rows = 50_000;
    let x: Vec<f32> = vec![0.5; rows * 6];
    let (n, body) = binary_body(
        json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [rows, 6]}]}),
        &[le_f32(&x)],
    );
    let addr = s.addr;
    let body = Arc::new(body);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                request(
                    addr,
                    "POST",
                    "/v2/models/mlp/serving_default/infer",
                    &[("Inference-Header-Content-Length", n.to_string())],
                    &body,
                )
                .status
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    s.stop();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after shutdown"
    );
}
