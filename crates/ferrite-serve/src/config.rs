//! The model repository layout and the per-model `config.toml`.
//!
//! ```text
//! REPO/<model>/config.toml        optional
//! REPO/<model>/<version>/model.tflite
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Per-model settings; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Interpreters for requests outside sequences.
    pub instances: usize,
    /// Requests that may wait for an interpreter; beyond, 429 at once.
    pub max_queue: usize,
    /// Deadline of one request, queueing included.
    pub timeout_ms: u64,
    /// Live sequences (one interpreter each); beyond, 429.
    pub max_sequences: usize,
    /// A sequence without a request for this long is dropped.
    pub sequence_idle_timeout_ms: u64,
    /// `"latest"` (the `latest_count` highest versions), `"all"`, or
    /// `"specific"` (the `versions` listed).
    pub version_policy: String,
    pub latest_count: usize,
    pub versions: Vec<u64>,
    /// Kernel threads per interpreter; the server's `--threads` when unset.
    pub threads: Option<usize>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            instances: 1,
            max_queue: 64,
            timeout_ms: 30_000,
            max_sequences: 64,
            sequence_idle_timeout_ms: 60_000,
            version_policy: "latest".into(),
            latest_count: 1,
            versions: Vec::new(),
            threads: None,
        }
    }
}

impl ModelConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.sequence_idle_timeout_ms)
    }

    fn validate(&self) -> Result<(), String> {
        if self.instances == 0 {
            return Err("instances must be at least 1".into());
        }
        match self.version_policy.as_str() {
            "latest" if self.latest_count == 0 => Err("latest_count must be at least 1".into()),
            "latest" | "all" => Ok(()),
            "specific" if self.versions.is_empty() => {
                Err("version_policy \"specific\" needs a non-empty versions list".into())
            }
            "specific" => Ok(()),
            other => Err(format!(
                "version_policy \"{other}\" is not one of \"latest\", \"all\", \"specific\""
            )),
        }
    }

    /// The versions to serve out of those present.
    pub fn select(&self, present: &[u64]) -> Vec<u64> {
        let mut v = present.to_vec();
        v.sort_unstable();
        match self.version_policy.as_str() {
            "all" => v,
            "specific" => v
                .into_iter()
                .filter(|x| self.versions.contains(x))
                .collect(),
            _ => v.split_off(v.len().saturating_sub(self.latest_count)),
        }
    }
}

/// One model as found on disk: its config (or why the config is bad) and
/// the model file of each selected version.
#[derive(Debug)]
pub struct ModelSource {
    pub name: String,
    pub config: Result<ModelConfig, String>,
    pub versions: BTreeMap<u64, PathBuf>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Reads a model repository. Folders that are not models (no numbered
/// subfolder) are skipped; a bad config is reported on that model only.
pub fn scan_repository(root: &Path) -> std::io::Result<Vec<ModelSource>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(root)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !path.is_dir() || !valid_name(&name) {
            continue;
        }
        let mut present = BTreeMap::new();
        for v in std::fs::read_dir(&path)? {
            let v = v?;
            if let Some(n) = v.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) {
                if v.path().is_dir() {
                    present.insert(n, model_file(&v.path()));
                }
            }
        }
        if present.is_empty() {
            continue;
        }
        let config = read_config(&path.join("config.toml"));
        let keys: Vec<u64> = present.keys().copied().collect();
        let selected = match &config {
            Ok(c) => c.select(&keys),
            Err(_) => keys,
        };
        let versions = present
            .into_iter()
            .filter(|(k, _)| selected.contains(k))
            .collect();
        out.push(ModelSource {
            name,
            config,
            versions,
        });
    }
    Ok(out)
}

/// `model.tflite` in a version folder, else its only `.tflite` file.
fn model_file(dir: &Path) -> PathBuf {
    let default = dir.join("model.tflite");
    if default.exists() {
        return default;
    }
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        _ => default,
    }
}

fn read_config(path: &Path) -> Result<ModelConfig, String> {
    let config = match std::fs::read_to_string(path) {
        Ok(text) => {
            toml::from_str::<ModelConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ModelConfig::default(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    config
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(config)
}

/// A single model file served as model `name`, version 1.
pub fn single_model(path: &Path) -> ModelSource {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| valid_name(s))
        .unwrap_or("model")
        .to_string();
    ModelSource {
        name,
        config: Ok(ModelConfig::default()),
        versions: BTreeMap::from([(1, path.to_path_buf())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_policies_select() {
        let mut c = ModelConfig::default();
        assert_eq!(c.select(&[3, 1, 2]), vec![3]);
        c.latest_count = 2;
        assert_eq!(c.select(&[3, 1, 2]), vec![2, 3]);
        c.version_policy = "all".into();
        assert_eq!(c.select(&[2, 1]), vec![1, 2]);
        c.version_policy = "specific".into();
        c.versions = vec![1, 5];
        assert_eq!(c.select(&[1, 2]), vec![1]);
        c.version_policy = "newest".into();
        assert!(c.validate().unwrap_err().contains("newest"));
    }

    #[test]
    fn scan_reads_configs_and_reports_bad_ones() {
        let root = std::env::temp_dir().join(format!("ferrite-serve-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["a/1", "a/2", "b/1", "notamodel/x"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("a/config.toml"),
            "instances = 3\nversion_policy = \"all\"\n",
        )
        .unwrap();
        std::fs::write(root.join("b/config.toml"), "instances = 0\n").unwrap();
        let found = scan_repository(&root).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "a");
        assert_eq!(found[0].config.as_ref().unwrap().instances, 3);
        assert_eq!(
            found[0].versions.keys().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(found[1].config.as_ref().unwrap_err().contains("instances"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
