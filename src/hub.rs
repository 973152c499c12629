//! Finding a model: a local directory or a hub repository fetched through
//! `hf-hub` into its standard cache (`HF_HOME`, default
//! `~/.cache/huggingface`), with `HF_HUB_OFFLINE` honoured. Files named in
//! the manifest of known models (`models/manifest.json`) are checked against
//! their recorded SHA-256.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use hf_hub::{Cache, Repo, RepoType};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "Helsinki-NLP/opus-mt-ar-en";

/// Files every Marian checkpoint directory needs.
const REQUIRED: [&str; 4] = ["config.json", "source.spm", "target.spm", "vocab.json"];
/// Files used when present.
const OPTIONAL: [&str; 2] = ["generation_config.json", "tokenizer_config.json"];
/// Weight files, in order of preference; one is needed.
const WEIGHTS: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// What can go wrong while finding or checking a model.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Neither a directory nor a repository id.
    #[error("model `{0}` is neither a directory nor a hub repository id (owner/name)")]
    BadSpec(String),
    /// A file the model needs is missing.
    #[error("{dir}: missing model file `{file}`")]
    Missing {
        /// The model directory.
        dir: PathBuf,
        /// The missing file.
        file: String,
    },
    /// A file is not in the local cache and the hub may not be asked.
    #[error("{repo}@{revision}: `{file}` is not in the hub cache {cache} and offline mode is on (HF_HUB_OFFLINE)")]
    NotCached {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The missing file.
        file: String,
        /// The cache directory searched.
        cache: PathBuf,
    },
    /// The hub could not deliver a file.
    #[error("{repo}@{revision}: cannot fetch `{file}`: {reason}")]
    Fetch {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The file asked for.
        file: String,
        /// What the hub client said.
        reason: String,
    },
    /// A file's hash differs from the manifest's.
    #[error("{path}: SHA-256 {actual} does not match the manifest's {expected} (truncated or altered file)")]
    Checksum {
        /// The file checked.
        path: PathBuf,
        /// The manifest's hash.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// The manifest itself is unreadable.
    #[error("{path}: invalid model manifest: {reason}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
}

/// Known models and their files.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// One entry per known model.
    pub models: Vec<ManifestEntry>,
}

/// One known model.
#[derive(Clone, Debug, Deserialize)]
pub struct ManifestEntry {
    /// Hub repository id, or a name for local models.
    pub repo: String,
    /// Revision (branch, tag or commit) the hashes belong to.
    pub revision: String,
    /// Free text for people.
    #[serde(default)]
    pub note: String,
    /// What the model is good for (quality, speed, size, caveats), for people.
    #[serde(default)]
    pub good_for: String,
    /// Every file the revision holds on the hub (weights in all formats), as
    /// listed there; the files tarjim fetches are among them.
    #[serde(default)]
    pub hub_files: Vec<String>,
    /// Published scores, for people.
    #[serde(default)]
    pub scores: Vec<Score>,
    /// Files that must exist.
    pub required: Vec<String>,
    /// Files used when they exist.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Weight files in order of preference; one must exist (none when empty).
    pub weights: Vec<String>,
    /// SHA-256 (lowercase hex) of files, where recorded.
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
}

/// A published score of a known model.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Score {
    /// Test set and language pair, e.g. `flores200-devtest ara-eng`.
    pub test_set: String,
    /// BLEU.
    pub bleu: f64,
    /// chrF, from 0 to 1 as the OPUS-MT tables print it.
    pub chrf: f64,
    /// Where the figures come from (and which release of the model they score).
    pub source: String,
}

impl Manifest {
    /// The manifest shipped with tarjim (`models/manifest.json`).
    pub fn builtin() -> Manifest {
        Self::parse(include_str!("../models/manifest.json"), "models/manifest.json")
            .unwrap_or_else(|e| panic!("the built-in manifest is checked by tests: {e}"))
    }

    /// Reads a manifest file.
    pub fn from_file(path: &Path) -> Result<Manifest, HubError> {
        let text = std::fs::read_to_string(path).map_err(|error| HubError::Io { path: path.to_path_buf(), error })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, path: &str) -> Result<Manifest, HubError> {
        serde_json::from_str(text).map_err(|e| HubError::Manifest { path: path.to_string(), reason: e.to_string() })
    }

    /// The entry for a repository id.
    pub fn find(&self, repo: &str) -> Option<&ManifestEntry> {
        self.models.iter().find(|m| m.repo == repo)
    }
}

impl ManifestEntry {
    /// The file lists that apply to a model the manifest does not know.
    fn generic(repo: &str, revision: &str) -> ManifestEntry {
        ManifestEntry {
            repo: repo.to_string(),
            revision: revision.to_string(),
            note: String::new(),
            good_for: String::new(),
            hub_files: Vec::new(),
            scores: Vec::new(),
            required: REQUIRED.iter().map(|s| s.to_string()).collect(),
            optional: OPTIONAL.iter().map(|s| s.to_string()).collect(),
            weights: WEIGHTS.iter().map(|s| s.to_string()).collect(),
            sha256: BTreeMap::new(),
        }
    }

    /// Checks that `dir` holds the required files and one weight file, and
    /// that every file with a recorded hash has that hash.
    pub fn verify(&self, dir: &Path) -> Result<(), HubError> {
        for file in &self.required {
            if !dir.join(file).is_file() {
                return Err(HubError::Missing { dir: dir.to_path_buf(), file: file.clone() });
            }
        }
        if !self.weights.is_empty() && !self.weights.iter().any(|w| dir.join(w).is_file()) {
            return Err(HubError::Missing { dir: dir.to_path_buf(), file: self.weights.join(" or ") });
        }
        for (file, expected) in &self.sha256 {
            let path = dir.join(file);
            if !path.is_file() {
                continue;
            }
            let actual = sha256_file(&path)?;
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(HubError::Checksum { path, expected: expected.clone(), actual });
            }
        }
        Ok(())
    }
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, HubError> {
    let io = |error| HubError::Io { path: path.to_path_buf(), error };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where a model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSpec {
    /// A local checkpoint directory.
    Local(PathBuf),
    /// A hub repository at a revision.
    Hub {
        /// Repository id (`owner/name`).
        repo: String,
        /// Branch, tag or commit.
        revision: String,
    },
}

impl ModelSpec {
    /// An existing directory is a local model; otherwise `owner/name` is a
    /// hub repository (`@revision` may follow, default `main`).
    pub fn parse(spec: &str) -> Result<ModelSpec, HubError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ModelSpec::Local(path.to_path_buf()));
        }
        let (repo, revision) = spec.split_once('@').unwrap_or((spec, "main"));
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && part != ".."
        };
        match repo.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) && !revision.is_empty() => {
                Ok(ModelSpec::Hub { repo: repo.to_string(), revision: revision.to_string() })
            }
            _ => Err(HubError::BadSpec(spec.to_string())),
        }
    }
}

/// Whether `HF_HUB_OFFLINE` asks for offline mode.
pub fn offline_from_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// What a caller needs of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Everything: tokenizer files and weights.
    Model,
    /// Only the tokenizer files (no weights are fetched or required).
    Tokenizer,
}

/// Resolves a model to a local directory, fetching hub files into the
/// standard cache (`HF_HOME`) unless `offline`, then verifies it against the
/// manifest entry (or the generic file list when the model is unknown).
pub fn resolve(spec: &ModelSpec, manifest: &Manifest, offline: bool, need: Need) -> Result<PathBuf, HubError> {
    resolve_in(spec, manifest, offline, need, &Cache::from_env())
}

/// [`resolve`] with an explicit cache directory.
pub fn resolve_in(
    spec: &ModelSpec,
    manifest: &Manifest,
    offline: bool,
    need: Need,
    cache: &Cache,
) -> Result<PathBuf, HubError> {
    let (dir, mut entry) = match spec {
        ModelSpec::Local(dir) => (dir.clone(), ManifestEntry::generic(&dir.display().to_string(), "local")),
        ModelSpec::Hub { repo, revision } => {
            let mut entry = manifest
                .find(repo)
                .filter(|e| &e.revision == revision)
                .cloned()
                .unwrap_or_else(|| ManifestEntry::generic(repo, revision));
            if need == Need::Tokenizer {
                entry.weights.clear();
            }
            (fetch(&entry, repo, revision, offline, cache)?, entry)
        }
    };
    if need == Need::Tokenizer {
        entry.weights.clear();
    }
    entry.verify(&dir)?;
    Ok(dir)
}

fn fetch(entry: &ManifestEntry, repo: &str, revision: &str, offline: bool, cache: &Cache) -> Result<PathBuf, HubError> {
    let hub_repo = Repo::with_revision(repo.to_string(), RepoType::Model, revision.to_string());
    let cached = cache.repo(hub_repo.clone());
    let api = if offline {
        None
    } else {
        let api = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone())
            .with_progress(false)
            .build()
            .map_err(|e| fetch_error(repo, revision, "(client)", e))?;
        Some(api.repo(hub_repo))
    };
    let get = |file: &str| -> Result<PathBuf, HubError> {
        if let Some(path) = cached.get(file) {
            return Ok(path);
        }
        match &api {
            Some(api) => api.get(file).map_err(|e| fetch_error(repo, revision, file, e)),
            None => Err(HubError::NotCached {
                repo: repo.to_string(),
                revision: revision.to_string(),
                file: file.to_string(),
                cache: cache.path().clone(),
            }),
        }
    };
    let mut dir: Option<PathBuf> = None;
    for file in &entry.required {
        let path = get(file)?;
        dir.get_or_insert_with(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
    }
    for file in &entry.optional {
        // Optional files are fetched when the hub has them; absence is fine.
        let _ = get(file);
    }
    let mut last_error = None;
    for file in &entry.weights {
        last_error = None;
        match get(file) {
            Ok(_) => break,
            Err(e) => last_error = Some(e),
        }
    }
    if let Some(error) = last_error {
        return Err(error);
    }
    dir.ok_or_else(|| HubError::BadSpec(repo.to_string()))
}

fn fetch_error(repo: &str, revision: &str, file: &str, error: impl std::fmt::Display) -> HubError {
    HubError::Fetch {
        repo: repo.to_string(),
        revision: revision.to_string(),
        file: file.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_names_the_default_model() {
        let manifest = Manifest::builtin();
        assert!(manifest.find(DEFAULT_MODEL).is_some());
    }

    #[test]
    fn specs_are_told_apart() {
        assert_eq!(
            ModelSpec::parse("Helsinki-NLP/opus-mt-ar-en").unwrap(),
            ModelSpec::Hub { repo: "Helsinki-NLP/opus-mt-ar-en".into(), revision: "main".into() }
        );
        assert_eq!(
            ModelSpec::parse("Helsinki-NLP/opus-mt-ar-en@v1").unwrap(),
            ModelSpec::Hub { repo: "Helsinki-NLP/opus-mt-ar-en".into(), revision: "v1".into() }
        );
        assert!(matches!(ModelSpec::parse("src").unwrap(), ModelSpec::Local(_)));
        assert!(matches!(ModelSpec::parse("no-such-dir"), Err(HubError::BadSpec(_))));
        assert!(matches!(ModelSpec::parse("a/b/c"), Err(HubError::BadSpec(_))));
    }
}
