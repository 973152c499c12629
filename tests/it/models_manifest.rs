//! `models/manifest.json`: the known models, their files and published scores.

use std::collections::BTreeSet;

use tarjim::hub::{DEFAULT_MODEL, Manifest};

use crate::util::repo;

fn manifest() -> Manifest {
    Manifest::from_file(&repo("models/manifest.json")).expect("models/manifest.json parses")
}

#[test]
fn models_manifest_is_valid_and_sorted_by_repo() {
    let manifest = manifest();
    let repos: Vec<&str> = manifest.models.iter().map(|m| m.repo.as_str()).collect();
    let mut sorted = repos.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(repos, sorted, "entries sorted by repo, each once");
    for model in &manifest.models {
        let repo = &model.repo;
        assert_eq!(repo.split('/').count(), 2, "{repo}: owner/name");
        assert!(!model.revision.is_empty(), "{repo}: revision");
        for file in ["config.json", "source.spm", "target.spm", "vocab.json"] {
            assert!(model.required.iter().any(|f| f == file), "{repo}: {file} must be required");
        }
        assert!(!model.weights.is_empty(), "{repo}: weight files");
        // What tarjim fetches is on the hub: every required file and one weight file.
        let hub: BTreeSet<&str> = model.hub_files.iter().map(String::as_str).collect();
        assert_eq!(hub.len(), model.hub_files.len(), "{repo}: hub_files repeat a file");
        for file in &model.required {
            assert!(hub.contains(file.as_str()), "{repo}: required {file} is not among hub_files");
        }
        assert!(model.weights.iter().any(|w| hub.contains(w.as_str())), "{repo}: no weight file among hub_files");
        let known: BTreeSet<&String> = model.required.iter().chain(&model.optional).chain(&model.weights).collect();
        for (file, hash) in &model.sha256 {
            assert!(known.contains(file), "{repo}: hash of {file}, which is neither required, optional nor weights");
            assert!(
                hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{repo}: {file}: SHA-256 is 64 lowercase hex digits"
            );
        }
        assert!(!model.good_for.is_empty(), "{repo}: good_for");
        assert!(!model.scores.is_empty(), "{repo}: a published score");
        for score in &model.scores {
            assert!((0.0..=100.0).contains(&score.bleu) && (0.0..=1.0).contains(&score.chrf), "{repo}: {score:?}");
            assert!(!score.test_set.is_empty() && !score.source.is_empty(), "{repo}: {score:?}");
        }
    }
}

#[test]
fn models_manifest_lists_the_arabic_english_family() {
    let manifest = manifest();
    for repo in [
        DEFAULT_MODEL,
        "Helsinki-NLP/opus-mt-tc-big-ar-en",
        "Helsinki-NLP/opus-mt-sem-en",
        "Helsinki-NLP/opus-mt-mul-en",
    ] {
        assert!(manifest.find(repo).is_some(), "{repo} is missing");
    }
    // On the one test set every entry reports, the big model scores highest.
    let flores = |repo: &str| {
        manifest
            .find(repo)
            .and_then(|m| m.scores.iter().find(|s| s.test_set == "flores200-devtest ara-eng"))
            .map(|s| s.bleu)
    };
    assert_eq!(flores("Helsinki-NLP/opus-mt-tc-big-ar-en"), Some(42.8));
    for repo in ["Helsinki-NLP/opus-mt-sem-en", "Helsinki-NLP/opus-mt-mul-en"] {
        assert!(flores(repo).unwrap() < 42.8, "{repo}");
    }
    // The 2020 conversions hold pytorch_model.bin on main, never model.safetensors.
    for repo in [DEFAULT_MODEL, "Helsinki-NLP/opus-mt-tc-big-ar-en"] {
        let files = &manifest.find(repo).unwrap().hub_files;
        assert!(files.iter().any(|f| f == "pytorch_model.bin") && !files.iter().any(|f| f == "model.safetensors"));
    }
}
