//! The v2 and v1 REST APIs against real fixture models, with raw JSON and
//! binary bodies; answers must equal a bare ferrite invoke.

mod common;

use common::*;
use ferrite::{Interpreter, Model, Options};
use serde_json::json;

fn direct_sig(model: &str, sig: &str, inputs: &[(&str, Vec<f32>)]) -> Vec<(String, Vec<f32>)> {
    let m = Model::load(fixture(model)).unwrap();
    let mut i = Interpreter::new(&m, Options::default()).unwrap();
    let mut r = i.signature(sig).unwrap();
    for (n, v) in inputs {
        r.set_input(n, v).unwrap();
    }
    r.invoke().unwrap();
    r.outputs()
        .into_iter()
        .map(|(n, _)| (n.clone(), r.output_as::<f32>(&n).unwrap().to_vec()))
        .collect()
}

fn fc_input(seed: usize) -> Vec<f32> {
    (0..30)
        .map(|k| ((k * 7 + seed * 13) % 17) as f32 / 8.0 - 1.0)
        .collect()
}

fn repo(tag: &str) -> std::path::PathBuf {
    let broken = std::env::temp_dir().join(format!(
        "ferrite-serve-broken-{}.tflite",
        std::process::id()
    ));
    std::fs::write(&broken, b"TFL3 not a model").unwrap();
    repository(
        tag,
        &[
            (
                "fc",
                &[1, 2],
                &fixture("fully_connected_2d"),
                "version_policy = \"all\"\ninstances = 2\n",
            ),
            (
                "counter",
                &[1],
                &fixture("variable_counter"),
                "max_sequences = 2\n",
            ),
            ("sig", &[1], &fixture("two_signatures_shared_variable"), ""),
            ("table", &[1], &fixture("hashtable_str_to_int64"), ""),
            ("broken", &[1], &broken, ""),
            (
                "badconfig",
                &[1],
                &fixture("fully_connected_2d"),
                "instances = \"many\"\n",
            ),
        ],
    )
}

#[test]
fn health_metadata_and_not_ready_models() {
    let s = Server::start(&repo("meta"), 1 << 20);
    assert_eq!(get(s.addr, "/v2/health/live").json()["live"], true);
    assert_eq!(get(s.addr, "/v2/health/ready").status, 200);
    assert_eq!(get(s.addr, "/v2").json()["name"], "ferrite");

    let m = get(s.addr, "/v2/models/fc").json();
    assert_eq!(m["versions"], json!(["1", "2"]));
    assert_eq!(m["platform"], "tflite");
    assert_eq!(
        m["inputs"],
        json!([{"name": "serving_default_x:0", "datatype": "FP32", "shape": [3, 10]}])
    );
    let m = get(s.addr, "/v2/models/fc/serving_default").json();
    assert_eq!(m["inputs"][0]["name"], "x");
    assert_eq!(m["outputs"][0]["shape"], json!([3, 6]));
    let m = get(s.addr, "/v2/models/sig/set/versions/1").json();
    assert_eq!(m["inputs"][0]["name"], "new_w");
    let t = get(s.addr, "/v2/models/table/serving_default").json();
    assert_eq!(t["inputs"][0]["datatype"], "BYTES");

    assert_eq!(get(s.addr, "/v2/models/fc/ready").status, 200);
    assert_eq!(get(s.addr, "/v2/models/fc/versions/2/ready").status, 200);
    assert_eq!(get(s.addr, "/v2/models/fc/versions/3/ready").status, 404);
    assert_eq!(get(s.addr, "/v2/models/nope/ready").status, 404);
    assert_eq!(get(s.addr, "/v2/models/fc/nosig").status, 404);
    let b = get(s.addr, "/v2/models/broken/ready");
    assert_eq!(b.status, 503);
    assert!(b.error().contains("not ready"), "{}", b.error());
    let c = get(s.addr, "/v2/models/badconfig");
    assert_eq!(c.status, 503);
    assert!(c.error().contains("config.toml"), "{}", c.error());
    let idx = request(s.addr, "POST", "/v2/repository/index", &[], b"").json();
    let broken = idx
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "broken")
        .unwrap();
    assert_eq!(broken["state"], "UNAVAILABLE");
    assert!(!broken["reason"].as_str().unwrap().is_empty());
    s.stop();
}

#[test]
fn json_and_binary_inference_equal_a_bare_invoke() {
    let s = Server::start(&repo("infer"), 1 << 20);
    let x = fc_input(1);
    let want = direct_sig("fully_connected_2d", "serving_default", &[("x", x.clone())]);
    // JSON in, JSON out, through the signature endpoint and a pinned version.
    let r = post_json(
        s.addr,
        "/v2/models/fc/serving_default/versions/1/infer",
        &json!({"id": "r1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10], "data": x}]}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["id"].as_str(), v["model_version"].as_str()),
        (Some("r1"), Some("1"))
    );
    assert_eq!(v["outputs"][0]["name"], "output_0");
    assert_eq!(f32s(&v["outputs"][0]["data"]), want[0].1);
    // Primary subgraph by tensor names, nested JSON data.
    let nested: Vec<Vec<f32>> = x.chunks(10).map(<[f32]>::to_vec).collect();
    let v = post_json(s.addr, "/v2/models/fc/infer", &json!({"inputs": [{"name": "serving_default_x:0", "datatype": "FP32", "shape": [3, 10], "data": nested}]})).json();
    assert_eq!(v["model_version"], "2");
    assert_eq!(f32s(&v["outputs"][0]["data"]), want[0].1);
    // Binary in, binary out.
    let (n, body) = binary_body(
        json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 10]}], "outputs": [{"name": "output_0", "parameters": {"binary_data": true}}]}),
        &[le_f32(&x)],
    );
    let r = request(
        s.addr,
        "POST",
        "/v2/models/fc/serving_default/infer",
        &[("Inference-Header-Content-Length", n.to_string())],
        &body,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let hl: usize = r
        .header("inference-header-content-length")
        .unwrap()
        .parse()
        .unwrap();
    let head: serde_json::Value = serde_json::from_slice(&r.body[..hl]).unwrap();
    assert_eq!(head["outputs"][0]["parameters"]["binary_data_size"], 72);
    assert_eq!(&r.body[hl..], &le_f32(&want[0].1)[..]);
    s.stop();
}

#[test]
fn strings_go_through_a_hash_table_model() {
    let s = Server::start(&repo("bytes"), 1 << 20);
    let words = ["a", "b", "hello", "world", "x", "y", "z", "absent"];
    let m = Model::load(fixture("hashtable_str_to_int64")).unwrap();
    let mut i = Interpreter::new(&m, Options::default()).unwrap();
    let mut r = i.signature("serving_default").unwrap();
    r.set_input_strings("words", &words).unwrap();
    r.invoke().unwrap();
    let want: Vec<i64> = r.output_as::<i64>("values").unwrap().to_vec();
    let v = post_json(
        s.addr,
        "/v2/models/table/serving_default/infer",
        &json!({"inputs": [{"name": "words", "datatype": "BYTES", "shape": [8], "data": words}]}),
    )
    .json();
    assert_eq!(v["outputs"][0]["datatype"], "INT64");
    let got: Vec<i64> = v["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
    // The same strings in the binary BYTES layout.
    let blob: Vec<u8> = words
        .iter()
        .flat_map(|w| {
            [
                (w.len() as u32).to_le_bytes().to_vec(),
                w.as_bytes().to_vec(),
            ]
            .concat()
        })
        .collect();
    let (n, body) = binary_body(
        json!({"inputs": [{"name": "words", "datatype": "BYTES", "shape": [8]}]}),
        &[blob],
    );
    let r = request(
        s.addr,
        "POST",
        "/v2/models/table/serving_default/infer",
        &[("Inference-Header-Content-Length", n.to_string())],
        &body,
    );
    let got: Vec<i64> = r.json()["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
    s.stop();
}

fn counter_step(s: &Server, seq: u64, start: bool, end: bool, x: [f32; 3]) -> common::Reply {
    post_json(
        s.addr,
        "/v2/models/counter/serving_default/infer",
        &json!({"parameters": {"sequence_id": seq, "sequence_start": start, "sequence_end": end},
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": x}]}),
    )
}

#[test]
fn interleaved_sequences_keep_separate_state() {
    let s = Server::start(&repo("seq"), 1 << 20);
    let m = Model::load(fixture("variable_counter")).unwrap();
    let mut refs = [
        Interpreter::new(&m, Options::default()).unwrap(),
        Interpreter::new(&m, Options::default()).unwrap(),
    ];
    let steps: [(usize, [f32; 3]); 6] = [
        (0, [1., 2., 3.]),
        (1, [10., 0., 0.]),
        (0, [1., 1., 1.]),
        (1, [5., 5., 5.]),
        (0, [2., 0., -1.]),
        (1, [0., 0., 1.]),
    ];
    for (k, (who, x)) in steps.iter().enumerate() {
        let (start, end) = (k < 2, k >= 4);
        let r = counter_step(&s, 100 + *who as u64, start, end, *x);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let mut sig = refs[*who].signature("serving_default").unwrap();
        sig.set_input("x", x).unwrap();
        sig.invoke().unwrap();
        let v = r.json();
        for o in v["outputs"].as_array().unwrap() {
            let want = sig.output_as::<f32>(o["name"].as_str().unwrap()).unwrap();
            assert_eq!(f32s(&o["data"]), want, "step {k} output {}", o["name"]);
        }
    }
    // Both ended: continuing one is a clear error.
    let r = counter_step(&s, 100, false, false, [0.; 3]);
    assert_eq!(r.status, 400);
    assert!(
        r.error().contains("parameters.sequence_id"),
        "{}",
        r.error()
    );
    // A restarted sequence starts from fresh state.
    let first = counter_step(&s, 100, true, false, [1., 2., 3.]).json();
    let again = counter_step(&s, 100, true, false, [1., 2., 3.]).json();
    assert_eq!(first["outputs"], again["outputs"]);
    // max_sequences = 2.
    assert_eq!(counter_step(&s, 7, true, false, [0.; 3]).status, 200);
    let r = counter_step(&s, 8, true, false, [0.; 3]);
    assert_eq!(r.status, 429, "{}", r.error());
    let metrics = String::from_utf8(get(s.addr, "/metrics").body).unwrap();
    assert!(
        metrics.contains("ferrite_live_sequences{model=\"counter\",version=\"1\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "ferrite_requests_total{model=\"counter\",protocol=\"http\",status=\"429\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferrite_request_duration_seconds_count{model=\"counter\"}"),
        "{metrics}"
    );
    s.stop();
}

#[test]
fn signatures_share_state_within_a_sequence() {
    let s = Server::start(&repo("sigs"), 1 << 20);
    let m = Model::load(fixture("two_signatures_shared_variable")).unwrap();
    let mut reference = Interpreter::new(&m, Options::default()).unwrap();
    let meta = get(s.addr, "/v2/models/sig/set").json();
    let shape: Vec<usize> = meta["inputs"][0]["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let n: usize = shape.iter().product();
    let w: Vec<f32> = (0..n).map(|k| k as f32 * 0.5).collect();
    let x: Vec<f32> = (0..8).map(|k| 1.0 - k as f32 * 0.25).collect();
    let set = json!({"parameters": {"sequence_id": "s-1", "sequence_start": true}, "inputs": [{"name": "new_w", "datatype": "FP32", "shape": shape, "data": w}]});
    assert_eq!(
        post_json(s.addr, "/v2/models/sig/set/infer", &set).status,
        200
    );
    let get_req = json!({"parameters": {"sequence_id": "s-1", "sequence_end": true}, "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 4], "data": x}]});
    let v = post_json(s.addr, "/v2/models/sig/get/infer", &get_req).json();
    {
        let mut r = reference.signature("set").unwrap();
        r.set_input("new_w", &w).unwrap();
        r.invoke().unwrap();
    }
    let mut r = reference.signature("get").unwrap();
    r.set_input("x", &x).unwrap();
    r.invoke().unwrap();
    assert_eq!(
        f32s(&v["outputs"][0]["data"]),
        r.output_as::<f32>("y").unwrap()
    );
    s.stop();
}

#[test]
fn tf_serving_predict_rows_and_columns() {
    let s = Server::start(&repo("v1"), 1 << 20);
    let x = fc_input(3);
    let want = direct_sig("fully_connected_2d", "serving_default", &[("x", x.clone())]);
    let rows: Vec<Vec<f32>> = x.chunks(10).map(<[f32]>::to_vec).collect();
    let v = post_json(s.addr, "/v1/models/fc:predict", &json!({"instances": rows})).json();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    let flat: Vec<f32> = preds.iter().flat_map(f32s).collect();
    assert_eq!(flat, want[0].1);
    let v = post_json(
        s.addr,
        "/v1/models/fc/versions/1:predict",
        &json!({"signature_name": "serving_default", "inputs": {"x": rows}}),
    )
    .json();
    let flat: Vec<f32> = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(f32s)
        .collect();
    assert_eq!(flat, want[0].1);
    let bad = post_json(
        s.addr,
        "/v1/models/fc:predict",
        &json!({"instances": [[1.0, 2.0], [3.0]]}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.error().contains("ragged"), "{}", bad.error());
    assert_eq!(
        get(s.addr, "/v1/models/fc").json()["model_version_status"][0]["state"],
        "AVAILABLE"
    );
    s.stop();
}

#[test]
fn a_single_file_is_served_as_one_model() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let opts = ferrite_serve::ServeOptions {
        source: ferrite_serve::Source::File(fixture("variable_counter")),
        http_port: 0,
        grpc_port: None,
        ..Default::default()
    };
    let running = rt.block_on(ferrite_serve::start(opts)).unwrap();
    let addr = running.http_addr;
    let m = get(addr, "/v2/models/model/serving_default").json();
    assert_eq!(m["versions"], json!(["1"]));
    // Outside a sequence a stateful model starts afresh every request.
    let body = json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1.0, 2.0, 3.0]}]});
    let a = post_json(addr, "/v2/models/model/serving_default/infer", &body).json();
    let b = post_json(addr, "/v2/models/model/serving_default/infer", &body).json();
    assert_eq!(a["outputs"], b["outputs"]);
    rt.block_on(running.shutdown());
}
