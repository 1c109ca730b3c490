//! Loaded models: a pool of interpreters for independent requests, one
//! interpreter per live sequence, and the bounded admission in front of both.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferrite::{Interpreter, Model, Options};
use tokio::sync::Semaphore;

use crate::config::{ModelConfig, ModelSource};
use crate::error::{Result, ServeError};
use crate::run::{self, Job, TensorMeta};
use crate::tensor::Tensor;

/// Sequence control parameters of a request (Triton's sequence semantics).
#[derive(Debug, Clone, Default)]
pub struct SequenceCtl {
    /// Integer ids are kept as their decimal text; 0 or "" means none.
    pub id: String,
    pub start: bool,
    pub end: bool,
}

pub struct Request {
    pub id: Option<String>,
    pub inputs: Vec<Tensor>,
    pub outputs: Option<Vec<String>>,
    pub sequence: Option<SequenceCtl>,
    /// Client-asked deadline, capped by the model's.
    pub timeout: Option<Duration>,
}

#[derive(Debug)]
pub struct Response {
    pub model_name: String,
    pub model_version: String,
    pub id: Option<String>,
    pub outputs: Vec<Tensor>,
}

/// An input/output description of one endpoint (the primary subgraph, or
/// one signature).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub signature: Option<String>,
    pub inputs: Vec<TensorMeta>,
    pub outputs: Vec<TensorMeta>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Sequence {
    interp: Arc<tokio::sync::Mutex<Interpreter>>,
    last_used: Instant,
}

/// One ready model version.
pub struct Served {
    pub name: String,
    pub version: u64,
    pub config: ModelConfig,
    pub endpoints: BTreeMap<Option<String>, Endpoint>,
    model: Model,
    options: Options,
    keeps_state: bool,
    idle: Mutex<Vec<Interpreter>>,
    permits: Arc<Semaphore>,
    /// Requests admitted and not yet answered (waiting or running).
    depth: AtomicUsize,
    sequences: Mutex<HashMap<String, Sequence>>,
    /// Interpreters of ended sequences, reset and reused by new ones.
    spare: Mutex<Vec<Interpreter>>,
}

/// Holds one admission slot; released when the request is answered or dropped.
struct Admitted(Arc<Served>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Served {
    fn load(
        name: &str,
        version: u64,
        path: &std::path::Path,
        config: ModelConfig,
        threads: usize,
        max_tensor_bytes: usize,
    ) -> Result<Self, String> {
        let model = Model::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let options = Options {
            threads: config.threads.unwrap_or(threads).max(1),
            max_tensor_bytes,
            ..Default::default()
        };
        let mut interps = Vec::with_capacity(config.instances);
        for _ in 0..config.instances {
            interps.push(Interpreter::new(&model, options.clone()).map_err(|e| e.to_string())?);
        }
        let mut endpoints = BTreeMap::new();
        let (inputs, outputs) = run::describe(&mut interps[0], None)?;
        endpoints.insert(
            None,
            Endpoint {
                signature: None,
                inputs,
                outputs,
            },
        );
        for key in model.signature_keys() {
            let (inputs, outputs) = run::describe(&mut interps[0], Some(key))?;
            let key = Some(key.to_string());
            endpoints.insert(
                key.clone(),
                Endpoint {
                    signature: key,
                    inputs,
                    outputs,
                },
            );
        }
        Ok(Served {
            name: name.to_string(),
            version,
            keeps_state: model.keeps_state(),
            permits: Arc::new(Semaphore::new(config.instances)),
            config,
            endpoints,
            model,
            options,
            idle: Mutex::new(interps),
            depth: AtomicUsize::new(0),
            sequences: Mutex::new(HashMap::new()),
            spare: Mutex::new(Vec::new()),
        })
    }

    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::Acquire)
    }

    pub fn live_sequences(&self) -> usize {
        lock(&self.sequences).len()
    }

    fn admit(self: &Arc<Self>) -> Result<Admitted> {
        let limit = self.config.instances + self.config.max_queue;
        let prev = self.depth.fetch_add(1, Ordering::AcqRel);
        let slot = Admitted(Arc::clone(self));
        if prev >= limit {
            return Err(ServeError::Overloaded(format!(
                "model '{}' has {limit} requests queued or running; retry later",
                self.name
            )));
        }
        Ok(slot)
    }

    /// Drops sequences idle past the timeout; returns how many.
    pub fn reap(&self) -> usize {
        let idle = self.config.idle_timeout();
        let mut seqs = lock(&self.sequences);
        let before = seqs.len();
        seqs.retain(|_, s| s.last_used.elapsed() < idle);
        before - seqs.len()
    }

    /// The interpreter of sequence `ctl`, starting (or restarting) it when asked.
    fn sequence(&self, ctl: &SequenceCtl) -> Result<Arc<tokio::sync::Mutex<Interpreter>>> {
        self.reap();
        let mut seqs = lock(&self.sequences);
        if !ctl.start {
            let s = seqs.get_mut(&ctl.id).ok_or_else(|| {
                ServeError::bad(format!(
                    "parameters.sequence_id: sequence {} of model '{}' is not active; begin it with sequence_start",
                    ctl.id, self.name
                ))
            })?;
            s.last_used = Instant::now();
            return Ok(Arc::clone(&s.interp));
        }
        if !seqs.contains_key(&ctl.id) && seqs.len() >= self.config.max_sequences {
            return Err(ServeError::Overloaded(format!(
                "model '{}' has {} live sequences (its max_sequences); end one or retry later",
                self.name,
                seqs.len()
            )));
        }
        let spare = lock(&self.spare).pop();
        let mut interp = match spare {
            Some(i) => i,
            None => Interpreter::new(&self.model, self.options.clone())?,
        };
        interp.reset_state();
        let interp = Arc::new(tokio::sync::Mutex::new(interp));
        seqs.insert(
            ctl.id.clone(),
            Sequence {
                interp: Arc::clone(&interp),
                last_used: Instant::now(),
            },
        );
        Ok(interp)
    }

    fn end_sequence(&self, id: &str, interp: &Arc<tokio::sync::Mutex<Interpreter>>) {
        let mut seqs = lock(&self.sequences);
        // A restart under the same id may have replaced the entry meanwhile.
        if seqs.get(id).is_some_and(|s| Arc::ptr_eq(&s.interp, interp)) {
            seqs.remove(id);
        }
    }

    pub async fn infer(
        self: &Arc<Self>,
        signature: Option<String>,
        req: Request,
    ) -> Result<Response> {
        if !self.endpoints.contains_key(&signature) {
            return Err(ServeError::NotFound(format!(
                "model '{}' has no signature {signature:?}",
                self.name
            )));
        }
        let admitted = self.admit()?;
        let timeout = req
            .timeout
            .map_or(self.config.timeout(), |t| t.min(self.config.timeout()));
        let deadline = tokio::time::Instant::now() + timeout;
        let late = || {
            ServeError::Deadline(format!(
                "request to model '{}' passed its deadline of {timeout:?}",
                self.name
            ))
        };
        let job = Job {
            signature,
            inputs: req.inputs,
            outputs: req.outputs,
        };
        let this = Arc::clone(self);
        let task = match req.sequence.filter(|s| !s.id.is_empty() && s.id != "0") {
            None => {
                let permit =
                    tokio::time::timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
                        .await
                        .map_err(|_| late())?
                        .map_err(|_| ServeError::Unavailable("model is shutting down".into()))?;
                let interp = lock(&self.idle).pop();
                let mut interp = interp
                    .ok_or_else(|| ServeError::Internal("interpreter pool is empty".into()))?;
                // The task owns the slot, permit and interpreter, so a client
                // that goes away cannot lose an interpreter or a queue place.
                tokio::task::spawn_blocking(move || {
                    let _slot = admitted;
                    let _permit = permit;
                    if this.keeps_state {
                        interp.reset_state();
                    }
                    let r = run::run(&mut interp, &job);
                    lock(&this.idle).push(interp);
                    r
                })
            }
            Some(ctl) => {
                if ctl.start && ctl.id.len() > 256 {
                    return Err(ServeError::bad(
                        "parameters.sequence_id: longer than 256 bytes",
                    ));
                }
                let slot = self.sequence(&ctl)?;
                let guard = tokio::time::timeout_at(deadline, Arc::clone(&slot).lock_owned())
                    .await
                    .map_err(|_| late())?;
                tokio::task::spawn_blocking(move || {
                    let _slot = admitted;
                    let mut guard = guard;
                    let r = run::run(&mut guard, &job);
                    if ctl.end {
                        this.end_sequence(&ctl.id, &slot);
                        drop(guard);
                        if let Ok(m) = Arc::try_unwrap(slot) {
                            lock(&this.spare).push(m.into_inner());
                        }
                    }
                    r
                })
            }
        };
        let outputs = tokio::time::timeout_at(deadline, task)
            .await
            .map_err(|_| late())?
            .map_err(|e| ServeError::Internal(format!("inference task failed: {e}")))??;
        Ok(Response {
            model_name: self.name.clone(),
            model_version: self.version.to_string(),
            id: req.id,
            outputs,
        })
    }
}

pub enum VersionState {
    Ready(Arc<Served>),
    Failed(String),
}

pub struct ModelEntry {
    pub name: String,
    pub versions: BTreeMap<u64, VersionState>,
    /// Set when the model's config could not be read.
    pub error: Option<String>,
}

/// Every model of the repository, loaded once at start.
pub struct Registry {
    pub models: BTreeMap<String, ModelEntry>,
}

impl Registry {
    pub fn load(sources: Vec<ModelSource>, threads: usize, max_tensor_bytes: usize) -> Self {
        let mut models = BTreeMap::new();
        for src in sources {
            let mut versions = BTreeMap::new();
            let error = src.config.as_ref().err().cloned();
            for (v, path) in &src.versions {
                let state = match &src.config {
                    Err(e) => VersionState::Failed(format!("bad config: {e}")),
                    Ok(c) => match Served::load(
                        &src.name,
                        *v,
                        path,
                        c.clone(),
                        threads,
                        max_tensor_bytes,
                    ) {
                        Ok(s) => {
                            tracing::info!(model = %src.name, version = v, path = %path.display(), "model ready");
                            VersionState::Ready(Arc::new(s))
                        }
                        Err(e) => {
                            tracing::warn!(model = %src.name, version = v, error = %e, "model failed to load");
                            VersionState::Failed(e)
                        }
                    },
                };
                versions.insert(*v, state);
            }
            models.insert(
                src.name.clone(),
                ModelEntry {
                    name: src.name,
                    versions,
                    error,
                },
            );
        }
        Registry { models }
    }

    /// Splits `name` or `name/signature` into model entry and signature.
    pub fn entry(&self, full: &str) -> Result<(&ModelEntry, Option<String>)> {
        if let Some(e) = self.models.get(full) {
            return Ok((e, None));
        }
        if let Some((m, sig)) = full.split_once('/') {
            if let Some(e) = self.models.get(m) {
                return Ok((e, Some(sig.to_string())));
            }
        }
        Err(ServeError::NotFound(format!("unknown model '{full}'")))
    }

    /// The served version and signature for a request; `version` empty
    /// means the highest ready version.
    pub fn resolve(&self, full: &str, version: &str) -> Result<(Arc<Served>, Option<String>)> {
        let (entry, sig) = self.entry(full)?;
        let served = if version.is_empty() {
            entry
                .versions
                .values()
                .rev()
                .find_map(|v| match v {
                    VersionState::Ready(s) => Some(Arc::clone(s)),
                    VersionState::Failed(_) => None,
                })
                .ok_or_else(|| {
                    ServeError::Unavailable(format!(
                        "model '{}' is not ready: {}",
                        entry.name,
                        entry.reason()
                    ))
                })?
        } else {
            let v: u64 = version.parse().map_err(|_| {
                ServeError::bad(format!(
                    "model_version: '{version}' is not a version number"
                ))
            })?;
            match entry.versions.get(&v) {
                Some(VersionState::Ready(s)) => Arc::clone(s),
                Some(VersionState::Failed(e)) => {
                    return Err(ServeError::Unavailable(format!(
                        "model '{}' version {v} is not ready: {e}",
                        entry.name
                    )))
                }
                None => {
                    return Err(ServeError::NotFound(format!(
                        "model '{}' has no version {v}",
                        entry.name
                    )))
                }
            }
        };
        if !served.endpoints.contains_key(&sig) {
            let keys: Vec<&str> = served
                .endpoints
                .keys()
                .flatten()
                .map(String::as_str)
                .collect();
            return Err(ServeError::NotFound(format!(
                "unknown model '{full}': model '{}' has no signature '{}' (signatures: {keys:?})",
                entry.name,
                sig.unwrap_or_default()
            )));
        }
        Ok((served, sig))
    }

    pub fn ready(&self) -> impl Iterator<Item = &Arc<Served>> {
        self.models
            .values()
            .flat_map(|m| m.versions.values())
            .filter_map(|v| match v {
                VersionState::Ready(s) => Some(s),
                VersionState::Failed(_) => None,
            })
    }

    pub fn reap(&self) {
        for s in self.ready() {
            let n = s.reap();
            if n > 0 {
                tracing::info!(model = %s.name, version = s.version, dropped = n, "idle sequences dropped");
            }
        }
    }
}

impl ModelEntry {
    pub fn reason(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        let failed: Vec<String> = self
            .versions
            .iter()
            .filter_map(|(v, s)| match s {
                VersionState::Failed(e) => Some(format!("version {v}: {e}")),
                VersionState::Ready(_) => None,
            })
            .collect();
        if failed.is_empty() {
            "no version to serve".into()
        } else {
            failed.join("; ")
        }
    }
}
