//! `tarjim batch`: exact outputs for a tree of awkward documents, resumption
//! after SIGKILL at several points, shard workers running at once, the settings
//! digest following every model file, and one run per shard at a time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use candle_core::Device;
use tarjim::article::Article;
use tarjim::translate::Translator;

use crate::util::{repo, text, tiny};

/// Runs `tarjim batch ARGS` on the tiny model (greedy, no glossary unless asked).
fn batch(args: &[&str]) -> Output {
    batch_with(&tiny(), args)
}

/// `tarjim batch ARGS` on the model in `model` (greedy, no glossary).
fn batch_command(model: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tarjim"));
    command
        .arg("batch")
        .args(args)
        .args(["--model", model, "--beam", "1", "--glossary-mode", "off"])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `tarjim batch ARGS` on the model in `model` (greedy, no glossary).
fn batch_with(model: &str, args: &[&str]) -> Output {
    batch_command(model, args).output().expect("run tarjim batch")
}

/// Every file under `dir` (relative path → bytes), job state excluded.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == ".tarjim" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What the library gives for an article: one line per paragraph.
fn expected(translator: &Translator, text: &str) -> String {
    let max = translator.config().max_position_embeddings;
    let article = Article::prepare(text, max, &|s| translator.tokenizer().encode(s).ids.len());
    let sentences: Vec<&str> = article.paragraphs.iter().flat_map(|p| p.sentences.iter().map(String::as_str)).collect();
    let mut results = translator.translate(&sentences, 16, &mut |_| {}).into_iter();
    let mut out = String::new();
    for p in &article.paragraphs {
        let line: Vec<String> =
            p.sentences.iter().map(|_| results.next().unwrap().unwrap().text).filter(|t| !t.is_empty()).collect();
        out.push_str(&line.join(" "));
        out.push('\n');
    }
    out
}

fn tiny_translator() -> Translator {
    let mut t = Translator::from_dir(&repo("tests/fixtures/tiny"), &Device::Cpu).unwrap();
    t.generation_mut().num_beams = 1;
    t
}

fn seed_article() -> String {
    std::fs::read_to_string(repo("data/corpus/000_ed67191bc9fdfc38.txt")).unwrap()
}

#[test]
fn tree_of_awkward_documents_gives_exact_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let out = dir.path().join("out");
    std::fs::create_dir_all(input.join("sub dir/عربي")).unwrap();
    let seed = seed_article();
    std::fs::write(input.join("seed.txt"), &seed).unwrap();
    std::fs::write(input.join("empty.txt"), "").unwrap();
    std::fs::write(input.join("sub dir/bad.txt"), b"\xd8\xa7 \xff\n").unwrap();
    std::fs::write(input.join("sub dir/عربي/-خبر [1].txt"), "قال الرئيس. ثم غادر.\n\nسوريا\n").unwrap();
    std::fs::write(input.join("notes.md"), "عقد مجلس الأمن جلسة طارئة.").unwrap();
    // About 1 MB: the seed article's paragraphs, cleaned, many times over.
    let cleaned: Vec<String> = tarjim::article::clean(&seed).lines.into_iter().filter(|l| !l.is_empty()).collect();
    let block = cleaned.join("\n") + "\n";
    let copies = 1_000_000 / block.len() + 1;
    std::fs::write(input.join("big.txt"), block.repeat(copies)).unwrap();

    let run = batch(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "the invalid document fails the run: {}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], format!("tarjim: hashed {TINY_FILES} (0.8 MB) for the settings digest"));
    assert_eq!(lines[1], "tarjim: 6 documents in this shard, 0 already done, 6 to translate");
    assert!(lines.contains(&"sub dir/bad.txt: invalid UTF-8 at line 1, column 3"), "{stderr}");
    let translator = tiny_translator();
    let count = |t: &str| Article::prepare(t, 256, &|s| translator.tokenizer().encode(s).ids.len()).sentence_count();
    let sentences = count(&seed)
        + count("قال الرئيس. ثم غادر.\n\nسوريا\n")
        + count("عقد مجلس الأمن جلسة طارئة.")
        + count(&block) * copies;
    assert_eq!(lines[lines.len() - 2], "tarjim: removed from articles: ad-marker 2, source-line 1");
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with(&format!(
            "tarjim: 5 documents translated, 0 already done, 1 failed; {sentences} sentences; 0 glossary terms enforced, 0 missed; "
        )),
        "{summary}"
    );

    let got = tree(&out);
    let names: Vec<String> = got.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        vec!["big.en.txt", "empty.en.txt", "notes.md.en.txt", "seed.en.txt", "sub dir/عربي/-خبر [1].en.txt"]
    );
    assert_eq!(text(&got[Path::new("seed.en.txt")]), expected(&translator, &seed));
    assert_eq!(text(&got[Path::new("empty.en.txt")]), "");
    assert_eq!(
        text(&got[Path::new("sub dir/عربي/-خبر [1].en.txt")]),
        expected(&translator, "قال الرئيس. ثم غادر.\n\nسوريا\n")
    );
    assert_eq!(text(&got[Path::new("notes.md.en.txt")]), expected(&translator, "عقد مجلس الأمن جلسة طارئة."));
    // Paragraphs translate the same wherever they stand: the big article's output
    // is the block's output repeated.
    assert_eq!(text(&got[Path::new("big.en.txt")]), expected(&translator, &block).repeat(copies));

    // A second run has nothing left to do but the failed document.
    let again = batch(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = text(&again.stderr);
    assert!(stderr.starts_with("tarjim: 6 documents in this shard, 5 already done, 1 to translate\n"), "{stderr}");
    assert_eq!(tree(&out), got);
}

#[test]
fn jsonl_documents_stay_inside_the_output_and_changed_inputs_are_redone() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("feed.jsonl");
    let out = dir.path().join("out");
    let docs = [
        r#"{"id": "../../escape", "text": "قال الرئيس."}"#,
        r#"{"id": "/etc/passwd", "text": "سوريا"}"#,
        r#"{"id": 17, "text": "عقد مجلس الأمن جلسة طارئة."}"#,
    ];
    std::fs::write(&archive, docs.join("\n") + "\n").unwrap();
    let run = batch(&[archive.to_str().unwrap(), "-o", out.to_str().unwrap(), "--format", "jsonl"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let got = tree(&out);
    let names: Vec<String> = got.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(names, vec!["feed/17.en.jsonl", "feed/escape.en.jsonl", "feed/etc/passwd.en.jsonl"]);
    assert!(!dir.path().join("escape.en.jsonl").exists());
    let doc: serde_json::Value = serde_json::from_slice(&got[Path::new("feed/17.en.jsonl")]).unwrap();
    assert_eq!(doc["id"], "feed/17");
    assert_eq!(doc["source"], "عقد مجلس الأمن جلسة طارئة.");
    let translator = tiny_translator();
    assert_eq!(
        format!("{}\n", doc["translation"].as_str().unwrap()),
        expected(&translator, "عقد مجلس الأمن جلسة طارئة.")
    );
    assert_eq!(doc["paragraphs"][0]["sentences"][0]["source"], "عقد مجلس الأمن جلسة طارئة.");

    // One document changes: only it is translated again.
    std::fs::write(&archive, [docs[0], docs[1], r#"{"id": 17, "text": "سوريا"}"#].join("\n")).unwrap();
    let again = batch(&[archive.to_str().unwrap(), "-o", out.to_str().unwrap(), "--format", "jsonl"]);
    let stderr = text(&again.stderr);
    assert!(stderr.starts_with("tarjim: 3 documents in this shard, 2 already done, 1 to translate\n"), "{stderr}");
    let dry = batch(&[archive.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run"]);
    assert_eq!(text(&dry.stdout).lines().count(), 3, "text format is another setting: all would be redone");

    // A bad line costs only itself.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"id\": 1, \"text\": \"x\"}\n{\"id\": 2}\n").unwrap();
    let run = batch(&[bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).starts_with(&format!(
            "{}:2: not a document {{\"id\", \"text\"}}: missing field `text` at line 1 column 9\n",
            bad.display()
        )),
        "{}",
        text(&run.stderr)
    );
    assert!(out.join("bad/1.en.txt").is_file());
}

/// An archive of small documents.
fn archive(dir: &Path, n: usize) -> PathBuf {
    let input = dir.join("in");
    let sentences = [
        "قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة للاقتصاد الأسبوع المقبل.",
        "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.",
        "عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.",
        "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار منظمة أوبك.",
    ];
    for i in 0..n {
        let sub = input.join(format!("d{}", i % 4));
        std::fs::create_dir_all(&sub).unwrap();
        let body: Vec<&str> = (0..1 + i % 3).map(|k| sentences[(i + k) % 4]).collect();
        std::fs::write(sub.join(format!("{i:03}.txt")), body.join("\n")).unwrap();
    }
    input
}

fn manifest_lines(out: &Path) -> usize {
    std::fs::read_dir(out.join(".tarjim"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("manifest-"))
                .map(|e| std::fs::read(e.path()).unwrap().iter().filter(|&&b| b == b'\n').count())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn killed_jobs_resume_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 40);
    let whole = dir.path().join("whole");
    let resumed = dir.path().join("resumed");
    let run = batch(&[input.to_str().unwrap(), "-o", whole.to_str().unwrap(), "--pool", "4"]);
    assert!(run.status.success(), "{}", text(&run.stderr));

    for kill_after in [1, 9, 23] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tarjim"))
            .args(["batch", input.to_str().unwrap(), "-o", resumed.to_str().unwrap(), "--pool", "4"])
            .args(["--model", &tiny(), "--beam", "1", "--glossary-mode", "off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while manifest_lines(&resumed) < kill_after && start.elapsed() < Duration::from_secs(120) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let finish = batch(&[input.to_str().unwrap(), "-o", resumed.to_str().unwrap(), "--pool", "4"]);
    assert!(finish.status.success(), "{}", text(&finish.stderr));
    assert_eq!(tree(&resumed), tree(&whole), "resumed output differs from an uninterrupted run");
    assert_eq!(std::fs::read_dir(resumed.join(".tarjim/tmp")).unwrap().count(), 0, "temporary files left behind");
    let manifest = tarjim::batch::Ledger::load(&resumed.join(".tarjim")).unwrap();
    assert_eq!(manifest.entries().len(), 40);
}

#[test]
fn shard_workers_together_translate_each_document_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 30);
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let run = batch(&[input.to_str().unwrap(), "-o", whole.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let workers: Vec<_> = (0..3)
        .map(|k| {
            Command::new(env!("CARGO_BIN_EXE_tarjim"))
                .args(["batch", input.to_str().unwrap(), "-o", sharded.to_str().unwrap()])
                .args(["--shard", &format!("{k}/3"), "--model", &tiny(), "--beam", "1", "--glossary-mode", "off"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(tree(&sharded), tree(&whole));
    // Each document is in exactly one shard's manifest.
    let mut ids = Vec::new();
    for k in 0..3 {
        let m = std::fs::read_to_string(sharded.join(format!(".tarjim/manifest-{k}-of-3.jsonl"))).unwrap();
        ids.extend(
            m.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()),
        );
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((count, ids.len()), (30, 30));
    assert_eq!(
        text(&batch(&["--shard", "3/3", input.to_str().unwrap(), "-o", sharded.to_str().unwrap()]).stderr),
        "tarjim: invalid shard `3/3`: expected K/N with 0 <= K < N\n"
    );
}

#[test]
fn slurm_array_script_runs_the_shards() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 12);
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let run = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .args(["batch", input.to_str().unwrap(), "--output", whole.to_str().unwrap(), "--model", &tiny()])
        .output()
        .unwrap();
    assert!(matches!(run.status.code(), Some(0 | 3)), "{}", text(&run.stderr));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_tarjim")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let tasks: Vec<_> = (0..3)
        .map(|k| {
            Command::new("bash")
                .arg(repo("deploy/slurm-array.sh"))
                .args([input.to_str().unwrap(), sharded.to_str().unwrap(), &tiny()])
                .env("PATH", &path)
                .env("SLURM_ARRAY_TASK_COUNT", "3")
                .env("SLURM_ARRAY_TASK_ID", k.to_string())
                .env("SLURM_CPUS_PER_TASK", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for task in tasks {
        let out = task.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(tree(&sharded), tree(&whole));
}

#[test]
fn seed_article_loses_its_scraping_artifacts_only() {
    let seed = seed_article();
    let cleaned = tarjim::article::clean(&seed);
    let removed: Vec<(&str, usize, &str)> = cleaned.removed.iter().map(|r| (r.rule, r.line, r.text.as_str())).collect();
    let n = seed.lines().count();
    assert_eq!(removed, vec![("ad-marker", 1, "[ad_1]"), ("ad-marker", n - 1, "[ad_2]"), ("source-line", n, "المصدر")]);
    let kept: Vec<&str> = cleaned.lines.iter().map(String::as_str).filter(|l| !l.is_empty()).collect();
    let original: Vec<&str> =
        seed.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("[ad_") && *l != "المصدر").collect();
    assert_eq!(kept, original);
}

/// `batch` decides glossary senses per article: the full name in one sentence
/// confirms the bare surname in the next, which alone would be skipped.
#[test]
fn batch_confirms_a_surname_by_the_full_name_in_the_same_article() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let article = "التقى الرئيس السوري بشار الأسد وفدا عراقيا في دمشق.\nوقال الأسد إن العلاقات جيدة.\n";
    std::fs::write(input.join("a.txt"), article).unwrap();
    std::fs::write(input.join("b.txt"), "وقال الأسد إن العلاقات جيدة.\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .args(["batch", input.to_str().unwrap(), "--output", dir.path().join("out").to_str().unwrap()])
        .args(["--model", &tiny(), "--beam", "1", "--glossary-mode", "report"])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Report mode forces nothing: every enforced term is counted, placed or missed.
    let summary = text(&out.stderr);
    let counts: Vec<usize> = summary
        .split("sentences; ")
        .nth(1)
        .and_then(|rest| rest.split(" s").next())
        .map(|rest| rest.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).take(2).collect())
        .unwrap_or_default();
    // a.txt: بشار الأسد, دمشق, and الأسد confirmed by the article; b.txt: none.
    assert_eq!(counts.iter().sum::<usize>(), 3, "{summary}");
}

/// The tiny model's files in the order the settings digest hashes them.
const TINY_FILES: &str =
    "config.json, generation_config.json, tokenizer_config.json, vocab.json, source.spm, target.spm, model.safetensors";

/// Sets a file's modification time `secs` back, old enough for its hash to be
/// kept in the digest cache.
fn age(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

/// A copy of the tiny model in `dir/model`, its files an hour old.
fn tiny_copy(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(repo("tests/fixtures/tiny")).unwrap() {
        let path = entry.unwrap().path();
        let copy = model.join(path.file_name().unwrap());
        std::fs::copy(&path, &copy).unwrap();
        age(&copy, 3600);
    }
    model
}

#[test]
fn resume_redoes_documents_when_model_files_change_at_the_same_size() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 6);
    let out = dir.path().join("out");
    let model = tiny_copy(dir.path());
    let args = [input.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let run = |expected: &str| {
        let run = batch_with(model.to_str().unwrap(), &args);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let stderr = text(&run.stderr);
        assert!(stderr.starts_with(expected), "expected {expected:?} first, got:\n{stderr}");
    };
    let redo = "tarjim: 6 documents in this shard, 0 already done, 6 to translate\n";
    let skip = "tarjim: 6 documents in this shard, 6 already done, 0 to translate\n";
    run(&format!("tarjim: hashed {TINY_FILES} (0.8 MB) for the settings digest\n{redo}"));
    let cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(".tarjim/digests.json")).unwrap()).unwrap();
    let weights = model.join("model.safetensors");
    let key = weights.canonicalize().unwrap().display().to_string();
    assert_eq!(cache["files"][&key]["sha256"], tarjim::hub::sha256_file(&weights).unwrap().as_str());
    assert_eq!(cache["files"].as_object().unwrap().len(), 7);

    // Unchanged: nothing is hashed again, nothing is redone.
    run(skip);

    // A fine-tuned checkpoint of the same shape: one weight differs.
    let mut bytes = std::fs::read(&weights).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + header] ^= 1;
    std::fs::write(&weights, &bytes).unwrap();
    age(&weights, 1800);
    run(&format!("tarjim: hashed model.safetensors (0.3 MB) for the settings digest\n{redo}"));
    run(skip);

    let vocab = model.join("vocab.json");
    let mut bytes = std::fs::read(&vocab).unwrap();
    bytes.push(b'\n');
    std::fs::write(&vocab, &bytes).unwrap();
    age(&vocab, 1800);
    run(&format!("tarjim: hashed vocab.json (0.0 MB) for the settings digest\n{redo}"));

    // A field tarjim does not read still changes the digest: the file is hashed whole.
    let generation = model.join("generation_config.json");
    let config = std::fs::read_to_string(&generation).unwrap().replacen('{', "{\"no_repeat_ngram_size\": 3,", 1);
    std::fs::write(&generation, config).unwrap();
    age(&generation, 1800);
    run(&format!("tarjim: hashed generation_config.json (0.0 MB) for the settings digest\n{redo}"));
    run(skip);
}

#[test]
fn corrupt_digest_cache_is_ignored_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 3);
    let out = dir.path().join("out");
    let model = tiny_copy(dir.path());
    let args = [input.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let first = batch_with(model.to_str().unwrap(), &args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let cache_file = out.join(".tarjim/digests.json");
    let good = std::fs::read(&cache_file).unwrap();
    std::fs::write(&cache_file, &good[..good.len() / 2]).unwrap();
    let again = batch_with(model.to_str().unwrap(), &args);
    assert_eq!(
        text(&again.stderr).lines().take(2).collect::<Vec<_>>(),
        vec![
            format!("tarjim: hashed {TINY_FILES} (0.8 MB) for the settings digest").as_str(),
            "tarjim: 3 documents in this shard, 3 already done, 0 to translate"
        ]
    );
    assert_eq!(std::fs::read(&cache_file).unwrap(), good, "the cache is written again whole");
}

/// A child process killed (and reaped) when dropped, even while stopped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Documents of the runs that are stopped midway: enough that one takes
/// far longer than stopping it.
const DOCUMENTS: usize = 200;

/// Starts `tarjim batch ARGS --pool 1` on the tiny model and stops it (SIGSTOP)
/// once it has recorded a document, holding its shard's lock, with documents
/// of its shard left to do.
fn start_and_stop(out: &Path, args: &[&str], documents: usize) -> Reaped {
    let mut command = batch_command(&tiny(), args);
    let child = Reaped(command.args(["--pool", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    let start = Instant::now();
    while manifest_lines(out) < 1 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(1));
    }
    signal(&child.0, "-STOP");
    assert!(manifest_lines(out) < documents, "the first run finished before it could be stopped");
    child
}

/// `tarjim: OUT[ shard K/N] is in use by pid P on HOST since T (lock file …)`, from the lock file.
fn in_use(out: &Path, shard: &str, lock: &str, pid: u32) -> String {
    let lock = out.join(".tarjim").join(lock);
    let holder: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    assert_eq!(holder["pid"], pid);
    format!(
        "tarjim: {}{shard} is in use by pid {pid} on {} since {} (lock file {})",
        out.display(),
        holder["host"].as_str().unwrap(),
        holder["started"].as_str().unwrap(),
        lock.display()
    )
}

#[test]
fn second_run_on_a_held_shard_exits_2_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), DOCUMENTS);
    let out = dir.path().join("out");
    let args = [input.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let first = start_and_stop(&out, &args, DOCUMENTS);
    let temps_before: Vec<_> = std::fs::read_dir(out.join(".tarjim/tmp")).unwrap().map(|e| e.unwrap().path()).collect();
    let second = batch(&args);
    assert_eq!(second.status.code(), Some(2));
    assert_eq!(text(&second.stderr), format!("{}; --wait waits for it\n", in_use(&out, "", "lock-all", first.0.id())));
    let temps_after: Vec<_> = std::fs::read_dir(out.join(".tarjim/tmp")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(temps_after, temps_before, "the holder's temporary files are left alone");

    let mut first = first;
    signal(&first.0, "-CONT");
    assert!(first.0.wait().unwrap().success());
    assert_eq!(manifest_lines(&out), DOCUMENTS);
}

#[test]
fn waiting_run_finishes_after_the_holder_and_redoes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), DOCUMENTS);
    let out = dir.path().join("out");
    let args = [input.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let mut first = start_and_stop(&out, &args, DOCUMENTS);
    let waiting = batch_command(&tiny(), &args).arg("--wait").stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut waiting = Reaped(waiting.unwrap());
    let mut stderr = BufReader::new(waiting.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line, format!("{}; waiting for it to finish\n", in_use(&out, "", "lock-all", first.0.id())));

    signal(&first.0, "-CONT");
    assert!(first.0.wait().unwrap().success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(waiting.0.wait().unwrap().success(), "{rest}");
    assert!(
        rest.starts_with(&format!(
            "tarjim: {DOCUMENTS} documents in this shard, {DOCUMENTS} already done, 0 to translate\n"
        )),
        "{rest}"
    );
    assert_eq!(manifest_lines(&out), DOCUMENTS, "each document recorded once");
    assert_eq!(std::fs::read(out.join(".tarjim/lock-all")).unwrap(), b"", "released locks name nobody");
}

#[test]
fn leftover_temp_file_of_a_dead_run_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), 3);
    let out = dir.path().join("out");
    let temp = out.join(".tarjim/tmp");
    std::fs::create_dir_all(&temp).unwrap();
    // A run killed in a write leaves its temporary file and its name in the lock file.
    std::fs::write(temp.join("all.4194305.0"), "half an output").unwrap();
    std::fs::write(temp.join("0-of-2.4194305.0"), "another shard's").unwrap();
    std::fs::write(out.join(".tarjim/lock-all"), r#"{"pid":4194305,"host":"gone","started":"2020-01-01T00:00:00Z"}"#)
        .unwrap();
    let run = batch(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let left: Vec<_> = std::fs::read_dir(&temp).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec!["0-of-2.4194305.0"]);
}

#[test]
fn a_different_shard_runs_while_one_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path(), DOCUMENTS);
    let out = dir.path().join("out");
    let shard = |k: usize| {
        [input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--shard", if k == 0 { "0/2" } else { "1/2" }]
    };
    let in_first = text(&batch(&[&shard(0)[..], &["--dry-run"]].concat()).stdout).lines().count();
    let mut first = start_and_stop(&out, &shard(0), in_first);
    // Whatever the stopped run is writing stays where it is.
    let live = out.join(format!(".tarjim/tmp/0-of-2.{}.999", first.0.id()));
    std::fs::write(&live, "being written").unwrap();
    let second = batch(&shard(1));
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(live.exists());
    std::fs::remove_file(&live).unwrap();
    signal(&first.0, "-CONT");
    assert!(first.0.wait().unwrap().success());
    let all = batch(&[input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run"]);
    let all = text(&all.stderr);
    assert!(
        all.starts_with(&format!(
            "tarjim: {DOCUMENTS} documents in this shard, {DOCUMENTS} already done, 0 to translate\n"
        )),
        "{all}"
    );
}

/// Runs `tarjim batch ARGS` like [`batch`], with its output in files under
/// `dir`, killed after two minutes: a run that blocks on an input fails the
/// test instead of hanging the suite. Its stderr comes back without the line
/// naming the model files hashed for the settings digest.
fn batch_or_kill(dir: &Path, args: &[&str]) -> Output {
    let (stdout, stderr) = (dir.join("batch.stdout"), dir.join("batch.stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .arg("batch")
        .args(args)
        .args(["--model", &tiny(), "--beam", "1", "--glossary-mode", "off"])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run tarjim batch");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("tarjim batch {args:?} did not finish: {}", text(&std::fs::read(&stderr).unwrap()));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The settings digest's hashing line is checked by the digest tests.
    let stderr: String = text(&std::fs::read(&stderr).unwrap())
        .lines()
        .filter(|l| !l.starts_with("tarjim: hashed "))
        .map(|l| format!("{l}\n"))
        .collect();
    Output { status, stdout: std::fs::read(&stdout).unwrap(), stderr: stderr.into_bytes() }
}

/// A tree `in/` of two articles, `a.txt` and `sub/b.txt`.
fn two_articles(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::write(input.join("a.txt"), "قال الرئيس.").unwrap();
    std::fs::write(input.join("sub/b.txt"), "سوريا").unwrap();
    input
}

#[cfg(unix)]
#[test]
fn fifo_in_input_tree_is_skipped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_articles(dir.path());
    let fifo = input.join("sub/pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = dir.path().join("out");
    let skipped = format!("{}: skipped: not a regular file (fifo)\n", fifo.display());

    let dry = batch_or_kill(dir.path(), &[input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert_eq!(text(&dry.stdout), "a.txt\ta.en.txt\nsub/b.txt\tsub/b.en.txt\n");
    assert_eq!(
        text(&dry.stderr),
        format!("{skipped}tarjim: 2 documents in this shard, 0 already done, 2 to translate\n")
    );

    // Shard workers report it once between them.
    let reports: usize = (0..2)
        .map(|k| {
            let shard = format!("{k}/2");
            let args = [input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run", "--shard", &shard];
            text(&batch_or_kill(dir.path(), &args).stderr).matches(&skipped).count()
        })
        .sum();
    assert_eq!(reports, 1);

    let run = batch_or_kill(dir.path(), &[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "skipped special files fail nothing: {}", text(&run.stderr));
    assert!(text(&run.stderr).starts_with(&skipped), "{}", text(&run.stderr));
    let names: Vec<PathBuf> = tree(&out).into_keys().collect();
    assert_eq!(names, vec![PathBuf::from("a.en.txt"), PathBuf::from("sub/b.en.txt")]);
}

#[cfg(unix)]
#[test]
fn symlink_to_dev_zero_is_skipped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_articles(dir.path());
    let zero = input.join("zero.txt");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let out = dir.path().join("out");
    let run = batch_or_kill(dir.path(), &[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{}: skipped: not a regular file (character device)\ntarjim: 2 documents in this shard, 0 already done, 2 to translate\n",
            zero.display()
        )),
        "{stderr}"
    );
    assert_eq!(tree(&out).len(), 2);
}

#[cfg(unix)]
#[test]
fn symlink_loop_gives_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_articles(dir.path());
    std::os::unix::fs::symlink(".", input.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", input.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("self", input.join("self")).unwrap();
    let out = dir.path().join("out");
    let run = batch_or_kill(dir.path(), &[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let loops: String = ["loop", "self", "sub/up"]
        .iter()
        .map(|link| format!("{}: skipped: symlink loop\n", input.join(link).display()))
        .collect();
    assert!(
        stderr.starts_with(&format!("{loops}tarjim: 2 documents in this shard, 0 already done, 2 to translate\n")),
        "{stderr}"
    );
    let translator = tiny_translator();
    let got = tree(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(text(&got[Path::new("a.en.txt")]), expected(&translator, "قال الرئيس."));
    assert_eq!(text(&got[Path::new("sub/b.en.txt")]), expected(&translator, "سوريا"));
    let manifest = tarjim::batch::Ledger::load(&out.join(".tarjim")).unwrap();
    assert_eq!(manifest.entries().len(), 2);
}

#[cfg(unix)]
#[test]
fn symlink_to_a_file_outside_the_tree_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_articles(dir.path());
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "ثم غادر.").unwrap();
    std::os::unix::fs::symlink(&outside, input.join("linked.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, input.join("sub/linked again.txt")).unwrap();
    std::os::unix::fs::symlink("nowhere.txt", input.join("broken.txt")).unwrap();
    let out = dir.path().join("out");
    let run = batch_or_kill(dir.path(), &[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{}: skipped: broken symlink\n{}: skipped: same file as {}\ntarjim: 3 documents in this shard, 0 already done, 3 to translate\n",
            input.join("broken.txt").display(),
            input.join("sub/linked again.txt").display(),
            input.join("linked.txt").display(),
        )),
        "{stderr}"
    );
    let got = tree(&out);
    let names: Vec<&Path> = got.keys().map(PathBuf::as_path).collect();
    assert_eq!(names, vec![Path::new("a.en.txt"), Path::new("linked.en.txt"), Path::new("sub/b.en.txt")]);
    assert_eq!(text(&got[Path::new("linked.en.txt")]), expected(&tiny_translator(), "ثم غادر."));
}

#[test]
fn bad_jsonl_lines_cost_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.jsonl");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice("{\"id\": 1, \"text\": \"قال الرئيس.\"}\n".as_bytes());
    bytes.extend_from_slice(b"{\"id\": 2, \"text\": \"unterminated\n");
    bytes.extend_from_slice("{\"id\": 1, \"text\": \"سوريا\"}\n\n".as_bytes());
    bytes.extend_from_slice(b"{\"id\": \"x\", \"text\": \"\xd8\xa7\xff\"}\n");
    bytes.extend_from_slice(b"{\"id\": null, \"text\": \"\"}\n");
    bytes.extend_from_slice("{\"id\": \"ok\", \"text\": \"ثم غادر.\"}\r\n".as_bytes());
    std::fs::write(&feed, bytes).unwrap();
    let out = dir.path().join("out");
    let run = batch_or_kill(dir.path(), &[feed.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let f = feed.display();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..lines.len() - 1],
        [
            format!("{f}: byte-order mark at the start of the file (ignored)"),
            format!("{f}:2: not a document {{\"id\", \"text\"}}: EOF while parsing a string at line 1 column 31"),
            format!("{f}:3: duplicate id `1`, first at line 1"),
            format!("{f}:5: invalid UTF-8 at column 23"),
            format!("{f}:6: id must be a string or number, not null"),
            "tarjim: 2 documents in this shard, 0 already done, 2 to translate".to_string(),
        ]
    );
    assert!(
        lines.last().unwrap().starts_with("tarjim: 2 documents translated, 0 already done, 4 failed; "),
        "{stderr}"
    );
    let translator = tiny_translator();
    let got = tree(&out);
    let names: Vec<&Path> = got.keys().map(PathBuf::as_path).collect();
    assert_eq!(names, vec![Path::new("feed/1.en.txt"), Path::new("feed/ok.en.txt")]);
    assert_eq!(text(&got[Path::new("feed/1.en.txt")]), expected(&translator, "قال الرئيس."), "the first id 1 is kept");
    assert_eq!(text(&got[Path::new("feed/ok.en.txt")]), expected(&translator, "ثم غادر."));
}

#[test]
fn unsplittable_sentence_names_its_document_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_articles(dir.path());
    // One word of far more tokens than the tiny model's 256 positions.
    let word = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي".repeat(40);
    std::fs::write(input.join("long.txt"), format!("قال الرئيس.\n\n{word}\n")).unwrap();
    let feed = dir.path().join("feed.jsonl");
    let doc = serde_json::json!({"id": 7, "text": format!("سوريا\n{word}")});
    std::fs::write(&feed, format!("{{\"id\": 6, \"text\": \"سوريا\"}}\n{doc}\n")).unwrap();
    let tokens = tiny_translator().tokenizer().encode(&word).ids.len();
    assert!(tokens > 256, "{tokens}");
    let out = dir.path().join("out");
    let run =
        batch_or_kill(dir.path(), &[input.to_str().unwrap(), feed.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let limit = format!("{tokens} tokens, more than the model's limit of 256; split the line");
    assert!(stderr.contains(&format!("\nlong.txt: line 3: {limit}\n")), "{stderr}");
    assert!(
        stderr.contains(&format!("\nfeed/7: line 2 of the document at {}:2: {limit}\n", feed.display())),
        "{stderr}"
    );
    let names: Vec<PathBuf> = tree(&out).into_keys().collect();
    assert_eq!(names, ["a.en.txt", "feed/6.en.txt", "sub/b.en.txt"].map(PathBuf::from));
}

#[test]
fn dry_run_listing_on_a_full_disk_names_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), "قال رئيس الوزراء\n").unwrap();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .args(["batch", input.to_str().unwrap(), "-o", dir.path().join("out").to_str().unwrap(), "--dry-run"])
        .args(["--model", &tiny(), "--glossary-mode", "off"])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    let no_space = std::io::Error::from_raw_os_error(28);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).ends_with(&format!("tarjim: stdout: cannot write: {no_space}\n")),
        "{}",
        text(&out.stderr)
    );
}
