//! The hub path end to end, against the local server of the hub's file
//! protocol in `examples/hub_server` (nothing here reaches the internet):
//! the cache, `HF_ENDPOINT` and `HF_TOKEN`, fallbacks, resume, verification,
//! errors and download events.

#[path = "../../examples/hub_server/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use server::{Options, Served, Server};
use tarjim::hub::{self, Event, HubConfig, HubError, Manifest, ModelSpec, Need};

use crate::util::{repo, text};

const REPO: &str = "Helsinki-NLP/opus-mt-ar-en";
const LINE: &str = "قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة\n";
/// Size of `tests/fixtures/tiny-bin/pytorch_model.bin`.
const BIN_SIZE: u64 = 377_835;

/// A hub root: `REPO` at `main` in the 2020 layout (`pytorch_model.bin`, no
/// safetensors) and at `refs/pr/4` with `model.safetensors`.
fn hub_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    copy_dir(&repo("tests/fixtures/tiny-bin"), &root.path().join(REPO).join("main"));
    copy_dir(&repo("tests/fixtures/tiny"), &root.path().join(REPO).join("refs/pr/4"));
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A server of `root` with the faults `faults` sets, and what it served.
struct Hub {
    server: Server,
    served: Arc<Mutex<Vec<Served>>>,
}

impl Hub {
    fn start(root: &Path, faults: impl FnOnce(&mut Options)) -> Hub {
        let served = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&served);
        let mut options = Options {
            root: root.to_path_buf(),
            token: None,
            drop_after: None,
            wrong_hash: false,
            ignore_range: false,
            on_request: Box::new(move |s: &Served| log.lock().unwrap().push(s.clone())),
        };
        faults(&mut options);
        Hub { server: Server::start(options).unwrap(), served }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// What was served, in the order the requests came in, once every
    /// request read has been answered (a client may exit before the server's
    /// thread has logged its last answer).
    fn served(&self) -> Vec<Served> {
        for _ in 0..6000 {
            if self.served.lock().unwrap().len() as u64 >= self.server.requests_read() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut served = self.served.lock().unwrap().clone();
        served.sort_by_key(|s| s.order);
        served
    }

    /// `METHOD PATH STATUS` of each request, the commit hash written `C`.
    fn requests(&self, commit: &str) -> Vec<String> {
        self.served().iter().map(|s| format!("{} {} {}", s.method, s.path.replace(commit, "C"), s.status)).collect()
    }
}

/// Runs `tarjim ARGS` on `LINE` with `HF_ENDPOINT` and `HF_HOME` set, every
/// other hub setting (and any proxy) cleared, and `env` added.
fn tarjim(args: &[&str], endpoint: &str, home: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tarjim"));
    command.args(args).env("HF_ENDPOINT", endpoint).env("HF_HOME", home);
    for var in [
        "HF_HUB_OFFLINE",
        "HF_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        if let Err(err) = stdin.write_all(LINE.as_bytes()) {
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
        }
    }
    child.wait_with_output().unwrap()
}

fn cache_dir(home: &Path, repo: &str) -> PathBuf {
    home.join("hub").join(format!("models--{}", repo.replace('/', "--")))
}

fn commit(home: &Path, revision: &str) -> String {
    std::fs::read_to_string(cache_dir(home, REPO).join("refs").join(revision)).unwrap()
}

fn sha256(path: &Path) -> String {
    hub::sha256_file(path).unwrap()
}

/// The translation of `LINE` by the tiny checkpoint read from its directory.
fn local_translation() -> String {
    let home = tempfile::tempdir().unwrap();
    let out = tarjim(
        &["translate", "--model", &repo("tests/fixtures/tiny-bin").display().to_string()],
        "http://127.0.0.1:9",
        home.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The lines a first download of `main` prints when stderr is no terminal.
fn download_lines() -> String {
    let files = [
        ("config.json", "1.1 kB"),
        ("source.spm", "243.7 kB"),
        ("target.spm", "243.2 kB"),
        ("vocab.json", "7.5 kB"),
        ("generation_config.json", "0.3 kB"),
        ("tokenizer_config.json", "0.3 kB"),
        ("pytorch_model.bin", "377.8 kB"),
    ];
    files
        .iter()
        .map(|(file, size)| {
            format!("tarjim: downloading {REPO} {file} ({size})\ntarjim: downloaded {REPO} {file} ({size})\n")
        })
        .collect()
}

#[test]
fn first_download_fills_the_cache_then_offline_translates_without_the_hub() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let out = tarjim(&["translate"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let translation = text(&out.stdout);
    assert_eq!(translation, local_translation());
    // The missing safetensors file falls back to pytorch_model.bin without a word.
    assert_eq!(text(&out.stderr), download_lines());

    // huggingface_hub's layout: a ref, blobs named by ETag (the SHA-256 for
    // LFS files), relative links in the snapshot, the absence recorded.
    let commit = commit(home.path(), "main");
    let dir = cache_dir(home.path(), REPO);
    let weights = dir.join("snapshots").join(&commit).join("pytorch_model.bin");
    let sha = sha256(&repo("tests/fixtures/tiny-bin/pytorch_model.bin"));
    assert_eq!(std::fs::read_link(&weights).unwrap(), Path::new("../../blobs").join(&sha));
    assert_eq!(sha256(&weights), sha);
    assert!(dir.join(".no_exist").join(&commit).join("model.safetensors").is_file());
    assert!(!dir.join("snapshots").join(&commit).join("model.safetensors").exists());
    drop(hub);

    // The hub is gone: --offline, HF_HUB_OFFLINE and a plain run all use the cache.
    let refused = refused_endpoint();
    for (args, env) in [
        (&["translate", "--offline"][..], &[][..]),
        (&["translate"][..], &[("HF_HUB_OFFLINE", "1")][..]),
        (&["translate"][..], &[][..]),
    ] {
        let out = tarjim(args, &refused, home.path(), env);
        assert_eq!(out.status.code(), Some(0), "{args:?} {env:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), translation);
        assert_eq!(text(&out.stderr), "");
    }
}

#[test]
fn a_warm_cache_asks_the_hub_once_and_fetches_nothing() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    assert_eq!(tarjim(&["model-info"], &hub.url(), home.path(), &[]).status.code(), Some(0));
    let before = hub.served().len();
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let again: Vec<String> = hub.requests(&commit(home.path(), "main")).into_iter().skip(before).collect();
    assert_eq!(again, [format!("HEAD /{REPO}/resolve/main/config.json 200")]);
}

#[test]
fn missing_safetensors_falls_back_to_pytorch_model_bin() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let commit = commit(home.path(), "main");
    let requests = hub.requests(&commit);
    let weights: Vec<&String> = requests.iter().filter(|r| r.contains("model.")).collect();
    assert_eq!(
        weights,
        [
            &format!("HEAD /{REPO}/resolve/C/model.safetensors 404"),
            &format!("HEAD /{REPO}/resolve/C/pytorch_model.bin 302"),
            &format!("GET /lfs/{REPO}/C/pytorch_model.bin 200"),
        ]
    );
    // Every file after the first is asked for at the commit the first resolved.
    assert_eq!(requests[0], format!("HEAD /{REPO}/resolve/main/config.json 200"));
    assert!(requests[2..].iter().all(|r| !r.contains("/main/")), "{requests:?}");
}

#[test]
fn pull_request_revision_is_url_encoded_and_cached_under_its_ref() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let model = format!("{REPO}@refs/pr/4");
    let out = tarjim(&["model-info", "--model", &model], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(hub.served()[0].path, format!("/{REPO}/resolve/refs%2Fpr%2F4/config.json"));
    let commit = commit(home.path(), "refs/pr/4");
    let snapshot = cache_dir(home.path(), REPO).join("snapshots").join(&commit);
    assert_eq!(sha256(&snapshot.join("model.safetensors")), sha256(&repo("tests/fixtures/tiny/model.safetensors")));
    assert!(!snapshot.join("pytorch_model.bin").exists());
    drop(hub);
    let out = tarjim(&["translate", "--offline", "--model", &model], &refused_endpoint(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // main was never fetched, so it is not in the cache.
    let out = tarjim(&["translate", "--offline"], &refused_endpoint(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: {REPO}@main: `config.json` is not in the hub cache {} and offline mode is on (--offline or HF_HUB_OFFLINE); run once online to fill the cache, or use --model DIR\n",
            home.path().join("hub").display()
        )
    );
}

#[test]
fn renamed_repository_redirects_relatively_and_is_followed() {
    let root = hub_root();
    std::os::unix::fs::symlink("opus-mt-ar-en", root.path().join("Helsinki-NLP/opus-mt-ar-en-old")).unwrap();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let out = tarjim(&["model-info", "--model", "Helsinki-NLP/opus-mt-ar-en-old"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let served = hub.served();
    assert_eq!(served[0].path, "/Helsinki-NLP/opus-mt-ar-en-old/resolve/main/config.json");
    assert_eq!(served[0].status, 307);
    assert_eq!(served[1].path, format!("/{REPO}/resolve/main/config.json"));
    assert!(cache_dir(home.path(), "Helsinki-NLP/opus-mt-ar-en-old").join("refs/main").is_file());
}

#[test]
fn hf_token_is_sent_and_a_gated_repository_without_it_says_what_to_do() {
    let root = hub_root();
    let hub = Hub::start(root.path(), |o| o.token = Some("hf_secret".to_string()));
    let home = tempfile::tempdir().unwrap();
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let url = hub.url();
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: {REPO} is gated on {url}: accept its licence at {url}/{REPO} and set HF_TOKEN to a token of that account\n"
        )
    );

    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[("HF_TOKEN", "hf_secret")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The token goes to the hub and to the file host, which is the same host here.
    let served = hub.served();
    assert!(served[1..].iter().all(|s| s.authorization.as_deref() == Some("Bearer hf_secret")), "{served:?}");

    // The token file in HF_HOME works as well.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("token"), "hf_secret\n").unwrap();
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn unknown_repository_revision_and_missing_files_are_one_line_each() {
    let root = hub_root();
    let broken = root.path().join("o/broken/main");
    copy_dir(&repo("tests/fixtures/tiny-bin"), &broken);
    std::fs::remove_file(broken.join("vocab.json")).unwrap();
    let unweighted = root.path().join("o/unweighted/main");
    copy_dir(&repo("tests/fixtures/tiny-bin"), &unweighted);
    std::fs::remove_file(unweighted.join("pytorch_model.bin")).unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let url = hub.url();
    let cases = [
        (
            "Helsinki-NLP/no-such-model",
            vec![],
            format!(
                "Helsinki-NLP/no-such-model: repository not found on {url}; check the name, or set HF_TOKEN to a token that can read it if it is private"
            ),
        ),
        (
            "Helsinki-NLP/no-such-model",
            vec![("HF_TOKEN", "hf_any")],
            format!(
                "Helsinki-NLP/no-such-model: repository not found on {url}; check the name, or set HF_TOKEN to a token that can read it if it is private"
            ),
        ),
        ("Helsinki-NLP/opus-mt-ar-en@v9", vec![], format!("{REPO}: no revision `v9` on {url}")),
        ("o/broken", vec![], "o/broken@main has no file `vocab.json`".to_string()),
        ("o/unweighted", vec![], "o/unweighted@main has no file `model.safetensors or pytorch_model.bin`".to_string()),
    ];
    for (model, env, message) in cases {
        let home = tempfile::tempdir().unwrap();
        let out = tarjim(&["model-info", "--model", model], &url, home.path(), &env);
        assert_eq!(out.status.code(), Some(2), "{model}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().last(), Some(format!("tarjim: {message}").as_str()), "{model}: {stderr}");
    }
}

/// An endpoint nothing listens on.
fn refused_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn connection_refused_says_to_use_a_local_model_or_the_cache() {
    let endpoint = refused_endpoint();
    let home = tempfile::tempdir().unwrap();
    let out = tarjim(&["translate"], &endpoint, home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    // ECONNREFUSED, in the operating system's words.
    let os = std::io::Error::from_raw_os_error(111);
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: cannot reach {endpoint}/{REPO}/resolve/main/config.json: {os} — use --model DIR, or run once online to fill the cache, then --offline\n"
        )
    );
}

#[test]
fn broken_download_resumes_with_a_range_request_for_the_rest() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let cut = 100_000;
    let hub = Hub::start(root.path(), |o| o.drop_after = Some(cut));
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let commit = commit(home.path(), "main");
    let lfs = format!("{}/lfs/{REPO}/{commit}/pytorch_model.bin", hub.url());
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!(
            "tarjim: {lfs}: download broke off at {cut} of {BIN_SIZE} bytes (response body closed before all bytes were read); run again to resume"
        )
    );
    let sha = sha256(&repo("tests/fixtures/tiny-bin/pytorch_model.bin"));
    let dir = cache_dir(home.path(), REPO);
    let part = dir.join("blobs").join(format!("{sha}.incomplete"));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), cut);
    assert!(!dir.join("snapshots").join(&commit).join("pytorch_model.bin").exists());
    drop(hub);

    let hub = Hub::start(root.path(), |_| {});
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: downloading {REPO} pytorch_model.bin (377.8 kB), resuming at 100.0 kB\ntarjim: downloaded {REPO} pytorch_model.bin (377.8 kB)\n"
        )
    );
    let body: Vec<Served> = hub.served().into_iter().filter(|s| s.path.starts_with("/lfs/")).collect();
    assert_eq!(body.len(), 1);
    assert_eq!(body[0].range.as_deref(), Some("bytes=100000-"));
    assert_eq!(body[0].status, 206);
    assert_eq!(body[0].bytes, BIN_SIZE - cut);
    assert_eq!(sha256(&dir.join("snapshots").join(&commit).join("pytorch_model.bin")), sha);
    assert!(!part.exists());
}

#[test]
fn server_that_ignores_the_range_restarts_the_download_from_zero() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |o| o.drop_after = Some(100_000));
    assert_eq!(tarjim(&["model-info"], &hub.url(), home.path(), &[]).status.code(), Some(2));
    drop(hub);
    let hub = Hub::start(root.path(), |o| o.ignore_range = true);
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: downloading {REPO} pytorch_model.bin (377.8 kB)\ntarjim: downloaded {REPO} pytorch_model.bin (377.8 kB)\n"
        )
    );
    let body: Vec<Served> = hub.served().into_iter().filter(|s| s.path.starts_with("/lfs/")).collect();
    assert_eq!((body[0].status, body[0].bytes), (200, BIN_SIZE));
    let weights =
        cache_dir(home.path(), REPO).join("snapshots").join(commit(home.path(), "main")).join("pytorch_model.bin");
    assert_eq!(sha256(&weights), sha256(&repo("tests/fixtures/tiny-bin/pytorch_model.bin")));
}

#[test]
fn hash_mismatch_deletes_the_download_and_links_nothing() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |o| o.wrong_hash = true);
    let out = tarjim(&["model-info"], &hub.url(), home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let actual = sha256(&repo("tests/fixtures/tiny-bin/pytorch_model.bin"));
    // The server announces the SHA-256 of the hex of the true one.
    let announced: String = {
        use sha2::Digest;
        sha2::Sha256::digest(actual.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!(
            "tarjim: {REPO}@main: `pytorch_model.bin` has SHA-256 {actual} but the hub announced {announced}; the download was deleted, run again"
        )
    );
    let dir = cache_dir(home.path(), REPO);
    let blobs: Vec<String> =
        std::fs::read_dir(dir.join("blobs")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!blobs.iter().any(|b| b.starts_with(&announced) || b.starts_with(&actual)), "{blobs:?}");
    assert!(!dir.join("snapshots").join(commit(home.path(), "main")).join("pytorch_model.bin").exists());
}

fn config(endpoint: &str, home: &Path) -> HubConfig {
    HubConfig { endpoint: endpoint.to_string(), token: None, cache: home.join("hub"), offline: false }
}

#[test]
fn download_events_come_in_order_and_a_warm_cache_sends_none() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let spec = ModelSpec::parse(REPO).unwrap();
    let config = config(&hub.url(), home.path());
    let mut events = Vec::new();
    let dir = hub::resolve(&spec, &Manifest::builtin(), Need::Model, &config, &mut |e| events.push(e)).unwrap();
    assert_eq!(dir, cache_dir(home.path(), REPO).join("snapshots").join(commit(home.path(), "main")));

    // Per file: Started at 0, Progress rising to the size, Finished.
    let mut files = Vec::new();
    let mut current: Option<(String, u64, u64)> = None;
    for event in &events {
        match (event, &mut current) {
            (Event::Started { file, done: 0, total }, None) => current = Some((file.clone(), 0, *total)),
            (Event::Progress { file, done, total }, Some((f, last, t))) => {
                assert!(file == f && total == t && done > last && done <= total, "{event:?}");
                *last = *done;
            }
            (Event::Finished { file, total }, Some((f, last, t))) => {
                assert!(file == f && total == t && last == t, "{event:?}");
                files.push((file.clone(), *total));
                current = None;
            }
            _ => panic!("out of order: {event:?} after {current:?}"),
        }
    }
    let size = |f: &str| std::fs::metadata(repo("tests/fixtures/tiny-bin").join(f)).unwrap().len();
    let expected: Vec<(String, u64)> = [
        "config.json",
        "source.spm",
        "target.spm",
        "vocab.json",
        "generation_config.json",
        "tokenizer_config.json",
        "pytorch_model.bin",
    ]
    .iter()
    .map(|f| (f.to_string(), size(f)))
    .collect();
    assert_eq!(files, expected);

    let mut again = Vec::new();
    hub::resolve(&spec, &Manifest::builtin(), Need::Model, &config, &mut |e| again.push(e)).unwrap();
    assert_eq!(again, []);
}

#[test]
fn concurrent_runs_download_each_file_once() {
    let root = hub_root();
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(root.path(), |_| {});
    let config = config(&hub.url(), home.path());
    let spec = ModelSpec::parse(REPO).unwrap();
    let dirs: Vec<Result<PathBuf, HubError>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| hub::resolve(&spec, &Manifest::builtin(), Need::Model, &config, &mut |_| {})))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let first = dirs[0].as_ref().unwrap();
    assert!(dirs.iter().all(|d| d.as_ref().unwrap() == first));
    let bodies: Vec<Served> =
        hub.served().into_iter().filter(|s| s.method == "GET" && s.path.ends_with("pytorch_model.bin")).collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(sha256(&first.join("pytorch_model.bin")), sha256(&repo("tests/fixtures/tiny-bin/pytorch_model.bin")));
}

#[test]
fn readme_first_command_is_the_hub_translation_ci_runs() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let section = readme.split("## Fresh machine: two commands").nth(1).unwrap();
    let first = section.split("```sh\n").nth(1).unwrap().split("\n```").next().unwrap();
    assert!(first.ends_with("| cargo run --release -- translate"), "{first}");
    let ci = std::fs::read_to_string(repo(".ci/run")).unwrap();
    assert!(ci.contains("## Fresh machine: two commands"), "{ci}");
}
