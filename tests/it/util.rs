//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use candle_core::{Device, Tensor};
use serde_json::Value;
use tarjim::model::{MarianConfig, MarianMTModel, generated};

/// A path under the repository root.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `tarjim ARGS` with `stdin`, offline and with an empty hub cache.
pub fn tarjim(args: &[&str], stdin: &[u8]) -> Output {
    tarjim_to(args, stdin, Stdio::piped())
}

/// [`tarjim`] with its stdout sent to `stdout`.
pub fn tarjim_to(args: &[&str], stdin: &[u8], stdout: impl Into<Stdio>) -> Output {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .args(args)
        .env("HF_HOME", cache.path())
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tarjim");
    // A command that fails early (a bad option or file), reads no input
    // (model-info) or stops at its first failed write may exit before taking all
    // of it: a broken pipe here is no error.
    if let Err(err) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    }
    child.wait_with_output().unwrap()
}

/// Output bytes as text (they must be UTF-8).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The tiny test model's directory.
pub fn tiny() -> String {
    repo("tests/fixtures/tiny").display().to_string()
}

/// A file in `dir` with `contents` (its directory made when missing); its path
/// as a string.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// Runs `tarjim ARGS` and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = tarjim(args, b"");
    (out.status.code().expect("exit code"), text(&out.stdout), text(&out.stderr))
}

/// A committed fixture file, parsed as JSON.
pub fn json(path: &str) -> Value {
    let path = repo(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON array of integers.
pub fn ids(value: &Value) -> Vec<u32> {
    value.as_array().expect("array").iter().map(|v| v.as_u64().expect("integer") as u32).collect()
}

/// A JSON array of arrays of integers.
pub fn id_rows(value: &Value) -> Vec<Vec<u32>> {
    value.as_array().expect("array").iter().map(ids).collect()
}

/// A `(rows, cols)` u32 tensor from rows of ids.
pub fn tensor2(rows: &[Vec<u32>]) -> Tensor {
    let cols = rows[0].len();
    let flat: Vec<u32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), cols), &Device::Cpu).expect("tensor")
}

/// Largest absolute difference of two equally shaped f32 tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("difference")
}

/// Generated ids of an HF `generate` row: without the decoder start and the
/// trailing padding.
pub fn generated(row: &[u32], pad: u32) -> Vec<u32> {
    let mut out = row[1..].to_vec();
    while out.last() == Some(&pad) {
        out.pop();
    }
    out
}

/// The opus-mt-tc-big-ar-en-shaped model with generated weights (about 1 GB),
/// built once for every test that needs it.
pub fn big_model() -> &'static (MarianMTModel, MarianConfig) {
    static MODEL: OnceLock<(MarianMTModel, MarianConfig)> = OnceLock::new();
    MODEL.get_or_init(|| generated::big_shape_model(&Device::Cpu).expect("generated transformer-big model"))
}
