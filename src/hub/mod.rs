//! Finding a model: a local directory, or a hub repository fetched into the
//! hub cache that Python's `huggingface_hub` uses too (`HF_HUB_CACHE`, else
//! `HF_HOME/hub`, default `~/.cache/huggingface/hub`; see [`cache`]) from
//! `HF_ENDPOINT` (default `https://huggingface.co`) with the token in
//! `HF_TOKEN` or the token file `HF_HOME/token`. Offline mode (`--offline`,
//! `HF_HUB_OFFLINE=1`) reads only the cache. Downloads resume where a broken
//! one stopped and are checked against the SHA-256 the hub announces (see
//! [`client`], whose requests are written here on `ureq`: the `hf-hub` crate
//! reads neither `HF_ENDPOINT` nor `HF_TOKEN` as built before, and neither
//! verifies, resumes safely nor tells its errors apart). Files named in the
//! manifest of known models (`models/manifest.json`) are checked against
//! their recorded SHA-256.

pub mod cache;
pub mod client;
mod error;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::decoding::GENERATION_CONFIG_FILE;
use crate::model::{CONFIG_FILE, PYTORCH_FILE, SAFETENSORS_FILE};
use crate::tokenizer::{SOURCE_SPM_FILE, TARGET_SPM_FILE, TOKENIZER_CONFIG_FILE, VOCAB_FILE};

pub use error::HubError;

use cache::{Cached, RepoCache};
use client::{Client, Outcome, Target};

/// The hub asked when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "Helsinki-NLP/opus-mt-ar-en";

/// Files every Marian checkpoint directory needs.
const REQUIRED: [&str; 4] = [CONFIG_FILE, SOURCE_SPM_FILE, TARGET_SPM_FILE, VOCAB_FILE];
/// Files used when present.
const OPTIONAL: [&str; 2] = [GENERATION_CONFIG_FILE, TOKENIZER_CONFIG_FILE];
/// Weight files, in order of preference; one is needed.
const WEIGHTS: [&str; 2] = [SAFETENSORS_FILE, PYTORCH_FILE];

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
        Self::parse(include_str!("../../models/manifest.json"), "models/manifest.json")
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
    crate::hash::sha256_read(std::fs::File::open(path).map_err(io)?).map_err(io)
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
    /// hub repository (`@revision` may follow, default `main`: a branch, tag,
    /// commit or `refs/pr/N`).
    pub fn parse(spec: &str) -> Result<ModelSpec, HubError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ModelSpec::Local(path.to_path_buf()));
        }
        let (repo, revision) = spec.split_once('@').unwrap_or((spec, "main"));
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && part != ".."
        };
        // A revision names a file under the cache's `refs/`: each part must be a plain name.
        let valid_revision = !revision.is_empty() && revision.split('/').all(|part| valid(part) && part != ".");
        match repo.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) && valid_revision => {
                Ok(ModelSpec::Hub { repo: repo.to_string(), revision: revision.to_string() })
            }
            _ => Err(HubError::BadSpec(spec.to_string())),
        }
    }
}

/// Where and how the hub is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubConfig {
    /// The hub (`HF_ENDPOINT`, no trailing slash).
    pub endpoint: String,
    /// Sent as `Authorization: Bearer TOKEN` (`HF_TOKEN`, else the token file).
    pub token: Option<String>,
    /// The hub cache (`HF_HUB_CACHE`, else `HF_HOME/hub`).
    pub cache: PathBuf,
    /// Read only the cache (`HF_HUB_OFFLINE`).
    pub offline: bool,
}

impl HubConfig {
    /// The settings the environment gives, as `huggingface_hub` reads them;
    /// `offline` forces offline mode.
    pub fn from_env(offline: bool) -> Result<HubConfig, HubError> {
        Self::from_vars(|name| std::env::var(name).ok(), offline)
    }

    /// [`HubConfig::from_env`] with the variables `var` gives.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, offline: bool) -> Result<HubConfig, HubError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let home = |name: &str| set(name).map(|v| expand_home(&v, &var));
        let hf_home = match home("HF_HOME") {
            Some(dir) => Some(dir),
            None => home("XDG_CACHE_HOME")
                .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|cache| cache.join("huggingface")),
        };
        let cache = home("HF_HUB_CACHE")
            .or_else(|| home("HUGGINGFACE_HUB_CACHE"))
            .or_else(|| hf_home.as_ref().map(|h| h.join("hub")))
            .ok_or(HubError::NoCacheDir)?;
        let token = match set("HF_TOKEN") {
            Some(token) => Some(token.trim().to_string()),
            None => home("HF_TOKEN_PATH")
                .or_else(|| hf_home.as_ref().map(|h| h.join("token")))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .map(|text| text.trim().to_string())
                .filter(|token| !token.is_empty()),
        };
        let endpoint = set("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let offline = offline
            || var("HF_HUB_OFFLINE")
                .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        Ok(HubConfig { endpoint: endpoint.trim().trim_end_matches('/').to_string(), token, cache, offline })
    }
}

/// `~/rest` with `HOME` put in, as Python's `expanduser`.
fn expand_home(path: &str, var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), var("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// What a download reports while it works. Files found in the cache report
/// nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A file's content starts to arrive, from byte `done` on (above 0 when a
    /// broken download is resumed).
    Started {
        /// The file's name in the repository.
        file: String,
        /// Bytes already there.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// More of a file arrived.
    Progress {
        /// The file's name in the repository.
        file: String,
        /// Bytes there now.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// A file is complete, verified and in the cache.
    Finished {
        /// The file's name in the repository.
        file: String,
        /// Its size.
        total: u64,
    },
}

/// What a caller needs of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Everything: tokenizer files and weights.
    Model,
    /// Only the tokenizer files (no weights are fetched or required).
    Tokenizer,
}

/// Resolves a model to a local directory, fetching hub files into the cache
/// unless offline, then verifies it against the manifest entry (or the
/// generic file list when the model is unknown). Downloads report to
/// `on_event`.
pub fn resolve(
    spec: &ModelSpec,
    manifest: &Manifest,
    need: Need,
    config: &HubConfig,
    on_event: &mut dyn FnMut(Event),
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
            (fetch(&entry, repo, revision, config, on_event)?, entry)
        }
    };
    if need == Need::Tokenizer {
        entry.weights.clear();
    }
    entry.verify(&dir)?;
    Ok(dir)
}

/// Fills the cache's snapshot of `repo@revision` with the entry's files and
/// returns its directory. Online, a request for the first required file
/// resolves the revision to a commit and every file comes from that commit's
/// snapshot (fetched when missing); when that request fails for any reason
/// but an unknown revision, a complete snapshot in the cache is used instead,
/// as `huggingface_hub` does.
fn fetch(
    entry: &ManifestEntry,
    repo: &str,
    revision: &str,
    config: &HubConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, HubError> {
    let cache = RepoCache::new(&config.cache, repo);
    let Some(first) = entry.required.first() else {
        return Err(HubError::Manifest { path: repo.to_string(), reason: "no required files".to_string() });
    };
    let online = if config.offline {
        None
    } else {
        let client = Client::new(&config.endpoint, config.token.clone())?;
        let target = Target { repo, revision, url_revision: revision, file: first };
        match client.fetch(&cache, &target, on_event) {
            Ok(fetched) => match fetched.commit {
                Some(commit) => Some((client, commit)),
                None => return Err(missing(repo, revision, first)),
            },
            Err(error @ HubError::RevisionNotFound { .. }) => return Err(error),
            Err(error) => {
                return snapshot(entry, repo, revision, None, config, &cache, &mut |_| None).map_err(|_| error);
            }
        }
    };
    match online {
        Some((client, commit)) => {
            let mut fetch_one = |file: &str| -> Option<Result<Option<PathBuf>, HubError>> {
                let target = Target { repo, revision, url_revision: &commit, file };
                Some(client.fetch(&cache, &target, on_event).map(|fetched| match fetched.outcome {
                    Outcome::File(path) => Some(path),
                    Outcome::Absent => None,
                }))
            };
            snapshot(entry, repo, revision, Some(commit.clone()), config, &cache, &mut fetch_one)
        }
        None => snapshot(entry, repo, revision, None, config, &cache, &mut |_| None),
    }
}

/// Fetches one file from the hub: `None` offline; otherwise the file, or
/// `None` inside when the hub has no such file.
type FetchOne<'a> = dyn FnMut(&str) -> Option<Result<Option<PathBuf>, HubError>> + 'a;

/// Gathers the entry's files in the snapshot of `commit` (by default the one
/// the cache says `revision` stands for): each
/// from the cache, else from `fetch_one` (`None` offline; otherwise the file
/// or `None` when the hub has no such file). Returns the snapshot directory.
fn snapshot(
    entry: &ManifestEntry,
    repo: &str,
    revision: &str,
    commit: Option<String>,
    config: &HubConfig,
    cache: &RepoCache,
    fetch_one: &mut FetchOne,
) -> Result<PathBuf, HubError> {
    let not_cached = |file: &str| HubError::NotCached {
        repo: repo.to_string(),
        revision: revision.to_string(),
        file: file.to_string(),
        cache: config.cache.clone(),
    };
    let first = entry.required.first().map(String::as_str).unwrap_or_default();
    let commit = commit.or_else(|| cache.commit(revision)).ok_or_else(|| not_cached(first))?;
    // Some(path), None when absent, Err(None) when unknown offline.
    let mut get = |file: &str| -> Result<Option<PathBuf>, Option<HubError>> {
        match cache.lookup(&commit, file) {
            Cached::File(path) => Ok(Some(path)),
            Cached::Absent => Ok(None),
            Cached::Unknown => match fetch_one(file) {
                Some(result) => result.map_err(Some),
                None => Err(None),
            },
        }
    };
    for file in &entry.required {
        match get(file) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(missing(repo, revision, file)),
            Err(error) => return Err(error.unwrap_or_else(|| not_cached(file))),
        }
    }
    for file in &entry.optional {
        match get(file) {
            Ok(_) | Err(None) => {}
            Err(Some(error)) => return Err(error),
        }
    }
    if !entry.weights.is_empty() {
        let mut found = false;
        let mut unknown = false;
        for file in &entry.weights {
            match get(file) {
                Ok(Some(_)) => {
                    found = true;
                    break;
                }
                Ok(None) => {}
                Err(None) => unknown = true,
                Err(Some(error)) => return Err(error),
            }
        }
        if !found {
            let files = entry.weights.join(" or ");
            return Err(if unknown { not_cached(&files) } else { missing(repo, revision, &files) });
        }
    }
    Ok(cache.snapshot(&commit))
}

fn missing(repo: &str, revision: &str, file: &str) -> HubError {
    HubError::EntryNotFound { repo: repo.to_string(), revision: revision.to_string(), file: file.to_string() }
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

    #[test]
    fn pull_request_revisions_parse_and_paths_out_of_the_cache_do_not() {
        assert_eq!(
            ModelSpec::parse("Helsinki-NLP/opus-mt-ar-en@refs/pr/4").unwrap(),
            ModelSpec::Hub { repo: "Helsinki-NLP/opus-mt-ar-en".into(), revision: "refs/pr/4".into() }
        );
        for bad in ["o/n@../../etc", "o/n@refs/../x", "o/n@/main", "o/n@main/", "o/n@", "o/n@a b", "o/n@./x"] {
            assert!(matches!(ModelSpec::parse(bad), Err(HubError::BadSpec(_))), "{bad}");
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<HubConfig, HubError> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HubConfig::from_vars(|name| vars.get(name).cloned(), false)
    }

    #[test]
    fn settings_are_read_as_huggingface_hub_reads_them() {
        let c = config(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(c.endpoint, "https://huggingface.co");
        assert_eq!(c.cache, Path::new("/home/u/.cache/huggingface/hub"));
        assert_eq!(c.token, None);
        assert!(!c.offline);

        let c = config(&[
            ("HOME", "/home/u"),
            ("XDG_CACHE_HOME", "/x"),
            ("HF_ENDPOINT", "http://127.0.0.1:8080/"),
            ("HF_TOKEN", " hf_abc\n"),
            ("HF_HUB_OFFLINE", "1"),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:8080");
        assert_eq!(c.cache, Path::new("/x/huggingface/hub"));
        assert_eq!(c.token.as_deref(), Some("hf_abc"));
        assert!(c.offline);

        let c = config(&[("HOME", "/home/u"), ("HF_HOME", "~/hf"), ("HF_HUB_CACHE", "/c")]).unwrap();
        assert_eq!(c.cache, Path::new("/c"));
        assert!(matches!(config(&[]), Err(HubError::NoCacheDir)));
    }

    #[test]
    fn the_token_file_in_hf_home_is_read_when_hf_token_is_unset() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("token"), "hf_from_file\n").unwrap();
        let dir = home.path().display().to_string();
        let c = config(&[("HF_HOME", &dir)]).unwrap();
        assert_eq!(c.token.as_deref(), Some("hf_from_file"));
        assert_eq!(c.cache, home.path().join("hub"));
        let c = config(&[("HF_HOME", &dir), ("HF_TOKEN", "hf_env")]).unwrap();
        assert_eq!(c.token.as_deref(), Some("hf_env"));
    }
}
