//! The `tarjim` binary: exact outputs, exit codes and messages.

use std::io::Write;
use std::process::Output;

use serde_json::{Value, json};

use crate::util::{json, repo, tarjim, tarjim_to, text, tiny};

/// The default-settings case of the generate fixture (beam 4), both batches.
fn default_case() -> (Vec<String>, Vec<String>) {
    let fixture = json("tests/fixtures/decoding/tiny_generate.json");
    let mut sources = Vec::new();
    let mut translations = Vec::new();
    for case in fixture["cases"].as_array().unwrap().iter().filter(|c| c["name"] == "beam_default") {
        for (s, t) in case["sources"].as_array().unwrap().iter().zip(case["translations"].as_array().unwrap()) {
            sources.push(s.as_str().unwrap().to_string());
            translations.push(t.as_str().unwrap().to_string());
        }
    }
    (sources, translations)
}

#[test]
fn translate_prints_transformers_translations_line_for_line() {
    let (sources, translations) = default_case();
    let mut input = String::new();
    let mut want = String::new();
    for (i, (s, t)) in sources.iter().zip(&translations).enumerate() {
        input.push_str(s);
        input.push('\n');
        want.push_str(t);
        want.push('\n');
        if i == 1 {
            // Empty lines stay in place.
            input.push_str("\n  \n");
            want.push_str("\n\n");
        }
    }
    for batch in ["1", "3", "16"] {
        let out = tarjim(
            &["translate", "--no-split", "--glossary-mode", "off", "--model", &tiny(), "--batch-size", batch],
            input.as_bytes(),
        );
        assert_eq!(text(&out.stderr), "");
        assert_eq!(text(&out.stdout), want, "batch size {batch}");
        assert!(out.status.success());
    }
}

#[test]
fn translate_greedy_option_matches_transformers_greedy() {
    let fixture = json("tests/fixtures/decoding/tiny_generate.json");
    let case = fixture["cases"].as_array().unwrap().iter().find(|c| c["name"] == "greedy").unwrap();
    let input: String =
        case["sources"].as_array().unwrap().iter().map(|s| format!("{}\n", s.as_str().unwrap())).collect();
    let want: String =
        case["translations"].as_array().unwrap().iter().map(|s| format!("{}\n", s.as_str().unwrap())).collect();
    let out = tarjim(
        &["translate", "--no-split", "--glossary-mode", "off", "--model", &tiny(), "--beam", "1"],
        input.as_bytes(),
    );
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn invalid_utf8_line_is_reported_and_output_stays_aligned() {
    let (sources, translations) = default_case();
    let mut input = format!("{}\n", sources[0]).into_bytes();
    input.extend_from_slice(b"\xd8\n");
    input.extend_from_slice(sources[1].as_bytes());
    let out = tarjim(&["translate", "--glossary-mode", "off", "--model", &tiny()], &input);
    assert_eq!(text(&out.stdout), format!("{}\n\n{}\n", translations[0], translations[1]));
    assert_eq!(text(&out.stderr), "<stdin>:2: invalid UTF-8 at byte 0\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn jsonl_output_carries_source_translation_and_counts() {
    let (sources, translations) = default_case();
    let input = format!("{}\n\n", sources[0]);
    let out =
        tarjim(&["translate", "--glossary-mode", "off", "--model", &tiny(), "--format", "jsonl"], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], "<stdin>");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["source"], sources[0].as_str());
    assert_eq!(lines[0]["translation"], translations[0].as_str());
    assert!(lines[0]["source_tokens"].as_u64().unwrap() > 1);
    assert!(lines[0]["target_tokens"].as_u64().unwrap() > 1);
    assert!(lines[0]["score"].as_f64().unwrap() < 0.0);
    assert!(lines[0]["time_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(lines[1]["translation"], "");
}

#[test]
fn tokenize_prints_marian_tokenizer_pieces_and_ids() {
    let fixture = std::fs::read_to_string(repo("tests/fixtures/tokenizer/tiny-encode.jsonl")).unwrap();
    let rows: Vec<Value> = fixture.lines().take(40).map(|l| serde_json::from_str(l).unwrap()).collect();
    let rows: Vec<&Value> = rows.iter().filter(|r| !r["text"].as_str().unwrap().contains(['\n', '\r'])).collect();
    let input: String = rows.iter().map(|r| format!("{}\n", r["text"].as_str().unwrap())).collect();
    let out = tarjim(&["tokenize", "--model", &tiny()], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), rows.len());
    for (got, want) in got.iter().zip(rows) {
        // MarianTokenizer's `tokenize` gives the pieces; `</s>` ends them as it ends the ids.
        let mut pieces = want["pieces"].as_array().unwrap().clone();
        pieces.push(Value::from("</s>"));
        assert_eq!(got["pieces"], Value::Array(pieces), "{}", want["text"]);
        assert_eq!(got["ids"], want["ids"], "{}", want["text"]);
    }
}

#[test]
fn missing_model_and_files_are_clear_errors() {
    let out = tarjim(&["translate", "--model", "/nonexistent/model"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "tarjim: model `/nonexistent/model` is neither a directory nor a hub repository id (owner/name[@revision])\n"
    );

    let out = tarjim(&["translate", "--model", "Helsinki-NLP/opus-mt-ar-en"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("Helsinki-NLP/opus-mt-ar-en@main: `config.json` is not in the hub cache"), "{err}");
    assert!(err.contains("offline mode is on (--offline or HF_HUB_OFFLINE)"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let out = tarjim(&["translate", "--model", &empty.path().display().to_string()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tarjim: {}: missing model file `config.json`\n", empty.path().display()));

    let (sources, translations) = default_case();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{}\n", sources[2])).unwrap();
    let path = file.path().display().to_string();
    let out =
        tarjim(&["translate", "--glossary-mode", "off", "--model", &tiny(), "/nonexistent/input.txt", &path], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), format!("{}\n", translations[2]));
    assert!(text(&out.stderr).starts_with("/nonexistent/input.txt: cannot read: "), "{}", text(&out.stderr));
}

#[test]
fn model_info_prints_architecture_and_file_hashes() {
    let out = tarjim(&["model-info", "--model", &tiny()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["architecture"]["d_model"], 32);
    assert_eq!(info["architecture"]["decoder_layers"], 3);
    let dir = repo("tests/fixtures/tiny");
    for name in ["config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json"] {
        let path = dir.join(name);
        assert_eq!(info["sha256"][name], tarjim::hub::sha256_file(&path).unwrap().as_str(), "{name}");
        assert_eq!(info["bytes"][name], std::fs::metadata(&path).unwrap().len(), "{name}");
    }
}

#[test]
fn legacy_weights_translate_exactly_like_the_safetensors_model() {
    let (sources, translations) = default_case();
    let input: String = sources.iter().map(|s| format!("{s}\n")).collect();
    let want: String = translations.iter().map(|t| format!("{t}\n")).collect();
    let legacy = repo("tests/fixtures/tiny-legacy").display().to_string();
    for model in [tiny(), legacy] {
        let out = tarjim(&["translate", "--no-split", "--glossary-mode", "off", "--model", &model], input.as_bytes());
        assert_eq!(text(&out.stderr), "", "{model}");
        assert_eq!(text(&out.stdout), want, "{model}");
        assert!(out.status.success(), "{model}");
    }
}

#[test]
fn model_info_reads_a_legacy_checkpoint() {
    let dir = repo("tests/fixtures/tiny-legacy");
    let out = tarjim(&["model-info", "--model", &dir.display().to_string()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["architecture"]["d_model"], 32);
    let path = dir.join("pytorch_model.bin");
    assert_eq!(info["sha256"]["pytorch_model.bin"], tarjim::hub::sha256_file(&path).unwrap().as_str());
    assert_eq!(info["bytes"]["pytorch_model.bin"], std::fs::metadata(&path).unwrap().len());
    assert!(info["bytes"].get("model.safetensors").is_none());
}

#[test]
fn truncated_or_corrupt_legacy_weights_fail_at_start_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("tests/fixtures/tiny-legacy")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let path = dir.path().join("pytorch_model.bin");
    let bytes = std::fs::read(&path).unwrap();
    // The state dict's pickle starts at byte 137 with PROTO 2.
    assert_eq!(bytes[137..139], [0x80, 2]);
    let mut corrupt = bytes.clone();
    corrupt[138] = 9;
    let cases = [
        (bytes[..100].to_vec(), "truncated: the system info needs 5 bytes at byte 100, the file has 100"),
        (corrupt, "pickle protocol 9 at byte 137, expected 2 or 3"),
    ];
    for (contents, problem) in cases {
        std::fs::write(&path, contents).unwrap();
        let out = tarjim(&["translate", "--model", &dir.path().display().to_string()], "سوريا\n".as_bytes());
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(text(&out.stdout), "");
        assert_eq!(
            text(&out.stderr),
            format!("tarjim: {}: cannot read weights: PyTorch legacy format: {problem}\n", path.display())
        );
    }
}

const USER_GLOSSARY: &str = "arabic\tenglish\tkind\tvariants\tnote
القاهرة\tCairo\tplace\t\t
كتائب حزب الله\tKataib Hezbollah\torg\t\tthe tiny model's vocabulary has no K
مجلس الأمن\tSecurity Council\torg\t\t
هيئة تحرير الشام\tHayat Tahrir al-Sham\torg\t\t
";

const TERM_LINES: &str = "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.
عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.
قالت كتائب حزب الله وهيئة تحرير الشام

";

#[test]
fn glossary_terms_are_written_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("terms.tsv");
    std::fs::write(&glossary, USER_GLOSSARY).unwrap();
    let report = dir.path().join("report.jsonl");
    let args = [
        "translate",
        "--model",
        &tiny(),
        "--no-builtin-glossary",
        "--glossary",
        glossary.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let out = tarjim(&args, TERM_LINES.as_bytes());
    assert_eq!(
        text(&out.stderr),
        "<stdin>:3: term `كتائب حزب الله` → `Kataib Hezbollah` not placed: the target vocabulary cannot write the rendering\n"
    );
    assert_eq!(out.status.code(), Some(3), "a missed term sets exit code 3");
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].contains("Cairo"), "{}", lines[0]);
    assert!(lines[1].contains("Security Council"), "{}", lines[1]);
    assert!(lines[2].contains("Hayat Tahrir al-Sham"), "{}", lines[2]);
    assert_eq!(lines[3], "");

    let rows: Vec<Value> =
        std::fs::read_to_string(&report).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "one report line per translated line");
    let terms = rows[2]["terms"].as_array().unwrap();
    assert_eq!(terms.len(), 2);
    assert_eq!(terms[0]["term"], "كتائب حزب الله");
    assert_eq!(terms[0]["source_span"], serde_json::json!([5, 19]));
    assert_eq!(terms[0]["source_text"], "كتائب حزب الله");
    assert_eq!(terms[0]["placed"], false);
    assert_eq!(terms[0]["target_span"], Value::Null);
    assert_eq!(terms[1]["source_text"], "هيئة تحرير الشام", "the conjunction و stays outside the span");
    assert_eq!(terms[1]["kind"], "org");
    let translation = rows[2]["translation"].as_str().unwrap();
    let span = terms[1]["target_span"].as_array().unwrap();
    let (start, end) = (span[0].as_u64().unwrap() as usize, span[1].as_u64().unwrap() as usize);
    let landed: String = translation.chars().skip(start).take(end - start).collect();
    assert_eq!(landed, "Hayat Tahrir al-Sham");
    assert_eq!(rows[0]["terms"][0]["english"], "Cairo");
    assert_eq!(rows[0]["terms"][0]["placed"], true);
}

#[test]
fn report_mode_finds_terms_without_changing_the_translation() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("terms.tsv");
    std::fs::write(&glossary, USER_GLOSSARY).unwrap();
    let g = glossary.to_str().unwrap();
    let off = tarjim(&["translate", "--glossary-mode", "off", "--model", &tiny()], TERM_LINES.as_bytes());
    let report = tarjim(
        &["translate", "--glossary-mode", "report", "--glossary", g, "--model", &tiny(), "--format", "jsonl"],
        TERM_LINES.as_bytes(),
    );
    assert!(report.status.success(), "report mode never fails on terms: {}", text(&report.stderr));
    let translations: Vec<String> = text(&report.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["translation"].as_str().unwrap().to_string())
        .collect();
    let plain: Vec<String> = text(&off.stdout).lines().map(str::to_string).collect();
    assert_eq!(translations, plain);
    let first: Value = serde_json::from_str(text(&report.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["terms"], 1);
}

#[test]
fn bad_glossary_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("bad.tsv");
    std::fs::write(&glossary, "arabic\tenglish\tkind\tvariants\tnote\nحماس\tHamas\torg\n").unwrap();
    let g = glossary.to_str().unwrap();
    let out = tarjim(&["translate", "--glossary", g, "--model", &tiny()], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tarjim: {g}:2:15: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 3\n"
        )
    );
    std::fs::write(&glossary, b"arabic\tenglish\tkind\tvariants\tnote\n\xff\tX\torg\t\t\n").unwrap();
    let out = tarjim(&["translate", "--glossary", g, "--model", &tiny()], b"x\n");
    assert_eq!(text(&out.stderr), format!("tarjim: {g}:2:1: invalid UTF-8\n"));
}

#[test]
fn int8_translations_do_not_depend_on_the_batch_and_stay_near_f32() {
    let (sources, translations) = default_case();
    let input: String = sources.iter().map(|s| format!("{s}\n")).collect();
    let mut outputs = Vec::new();
    for batch in ["1", "16"] {
        let out = tarjim(
            &["translate", "--glossary-mode", "off", "--model", &tiny(), "--precision", "int8", "--batch-size", batch],
            input.as_bytes(),
        );
        assert_eq!(text(&out.stderr), "");
        assert!(out.status.success());
        outputs.push(text(&out.stdout));
    }
    assert_eq!(outputs[0], outputs[1], "int8 output depends on the batch size");
    let lines: Vec<&str> = outputs[0].lines().collect();
    assert_eq!(lines.len(), translations.len());
    let same = lines.iter().zip(&translations).filter(|(a, b)| **a == b.as_str()).count();
    eprintln!("int8 equal to f32 on {same} of {} lines", lines.len());
    assert!(same * 2 >= lines.len(), "int8 equals f32 on only {same} of {} lines", lines.len());
}

pub(crate) const SENSE_GLOSSARY: &str = "arabic\tenglish\tkind\tvariants\tnote\tshort\tambiguous\tconfirm\trefute
الجزيرة\tAl Jazeera\torg\t\t\t\tالجزيرة\tقناة ~\tشبه ~
بشار الأسد\tBashar al-Assad\tperson\t\t\tالأسد=Assad\tالأسد\tنظام ~\t
";

/// `(source_text, english, confirmed)` of an enforced term.
type Enforced = (String, String, Value);
/// `(source_text, why)` of a skipped mention.
type Skipped = (String, String);

/// The enforced terms and the skipped mentions of each report line.
pub(crate) fn decisions(report: &std::path::Path) -> Vec<(Vec<Enforced>, Vec<Skipped>)> {
    std::fs::read_to_string(report)
        .unwrap()
        .lines()
        .map(|l| {
            let row: Value = serde_json::from_str(l).unwrap();
            let terms = row["terms"].as_array().unwrap().iter().map(|t| {
                (
                    t["source_text"].as_str().unwrap().to_string(),
                    t["english"].as_str().unwrap().to_string(),
                    t["confirmed"].clone(),
                )
            });
            let skipped = row["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["source_text"].as_str().unwrap().to_string(), t["why"].as_str().unwrap().to_string()));
            (terms.collect(), skipped.collect())
        })
        .collect()
}

#[test]
fn translate_document_confirms_short_forms_across_lines() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("senses.tsv");
    std::fs::write(&glossary, SENSE_GLOSSARY).unwrap();
    let input = "التقى بشار الأسد وفدا.\nوقال الأسد إن شبه الجزيرة هادئة.\n";
    let report = dir.path().join("report.jsonl");
    let model = tiny();
    let run = |document: bool| {
        let mut args = vec!["translate", "--model", &model, "--no-builtin-glossary", "--glossary-mode", "report"];
        args.extend(["--glossary", glossary.to_str().unwrap(), "--report", report.to_str().unwrap()]);
        if document {
            args.push("--document");
        }
        let out = tarjim(&args, input.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        decisions(&report)
    };
    let full = ("بشار الأسد".to_string(), "Bashar al-Assad".to_string(), Value::Null);
    let refuted = ("الجزيرة".to_string(), "refuted by the cue `شبه ~`".to_string());
    // Each line alone: nothing in the second line confirms the bare surname.
    assert_eq!(
        run(false),
        vec![
            (vec![full.clone()], vec![]),
            (vec![], vec![("الأسد".into(), "ambiguous form without a confirming cue".into()), refuted.clone()]),
        ]
    );
    // One article: the full name in the first line confirms it, rendered short.
    let confirmed = Value::from("the name is confirmed elsewhere in the document");
    assert_eq!(
        run(true),
        vec![(vec![full], vec![]), (vec![("الأسد".into(), "Assad".into(), confirmed)], vec![refuted])]
    );
}

#[test]
fn skipped_mentions_never_set_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("senses.tsv");
    std::fs::write(&glossary, SENSE_GLOSSARY).unwrap();
    let args = ["translate", "--model", &tiny(), "--no-builtin-glossary", "--glossary", glossary.to_str().unwrap()];
    let out = tarjim(&args, "زأر الأسد في شبه الجزيرة\n".as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let plain =
        tarjim(&["translate", "--model", &tiny(), "--glossary-mode", "off"], "زأر الأسد في شبه الجزيرة\n".as_bytes());
    assert_eq!(text(&out.stdout), text(&plain.stdout), "nothing enforced, nothing forced");
}

#[test]
fn a_translation_that_already_holds_its_term_is_not_forced() {
    let line = "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.";
    let plain = tarjim(&["translate", "--model", &tiny(), "--glossary-mode", "off"], format!("{line}\n").as_bytes());
    let plain = text(&plain.stdout).trim_end().to_string();
    // A word the model writes anyway, as the rendering of the line's first word.
    let word = plain
        .split(' ')
        .find(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic))
        .expect("the tiny model writes some plain word")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("g.tsv");
    std::fs::write(&glossary, format!("arabic\tenglish\tkind\tvariants\tnote\nوصل\t{word}\tother\t\t\n")).unwrap();
    let args = ["translate", "--model", &tiny(), "--no-builtin-glossary", "--glossary", glossary.to_str().unwrap()];
    let out = tarjim(&[&args[..], &["--format", "jsonl"]].concat(), format!("{line}\n").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["translation"], plain.as_str(), "the plain beam search's output is kept");
    assert_eq!((row["terms"].clone(), row["terms_missed"].clone()), (Value::from(1), Value::from(0)));
}

#[test]
fn lines_without_enforced_terms_stay_hf_exact_under_the_builtin_glossary() {
    let (sources, translations) = default_case();
    let input: String = sources.iter().map(|s| format!("{s}\n")).collect();
    let out = tarjim(&["translate", "--model", &tiny(), "--format", "jsonl"], input.as_bytes());
    let rows: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), translations.len());
    let mut plain = 0;
    for (row, want) in rows.iter().zip(&translations) {
        if row["terms"] == 0 {
            plain += 1;
            assert_eq!(row["translation"], want.as_str(), "{}", row["source"]);
        }
    }
    assert!(plain > 0, "some fixture line has no glossary term");
}

/// The message the OS gives for reading `path`.
fn read_error(path: &std::path::Path) -> String {
    std::fs::read(path).expect_err("the path must be unreadable").to_string()
}

#[test]
fn io_errors_print_the_os_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x\n").unwrap();
    // A path under a regular file fails for every user, root included.
    let under_file = file.join("x");
    let path = under_file.to_str().unwrap();
    let os = read_error(&under_file);

    let out = tarjim(&["translate", "--model", &tiny(), "--glossary", path], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tarjim: {path}: cannot read: {os}\n"));

    let output = dir.path().join("out");
    let out = tarjim(&["batch", "--model", &tiny(), path, "--output", output.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tarjim: {path}: {os}\n"));

    let out = tarjim(&["translate", "--model", &tiny(), "--report", path], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tarjim: {path}: cannot create: {os}\n"));

    let out = tarjim(&["align", "--model", &tiny(), "--target", path], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tarjim: {path}: cannot read: {os}\n"));
}

/// Runs `tarjim ARGS` with `stdin` and stdout on `/dev/full`; returns the exit
/// code and stderr.
fn tarjim_to_full_disk(args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = tarjim_to(args, stdin, full);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn stdout_on_a_full_disk_is_named_and_ends_the_run() {
    let no_space = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap().write_all(b"x").unwrap_err();
    let want = format!("tarjim: stdout: cannot write: {no_space}\n");
    let line = "قال رئيس الوزراء\n".as_bytes();
    for args in [
        &["translate", "--model", &tiny(), "--glossary-mode", "off"][..],
        &["translate", "--model", &tiny(), "--glossary-mode", "off", "--format", "jsonl"][..],
        &["tokenize", "--model", &tiny()][..],
        &["align", "--model", &tiny()][..],
        &["model-info", "--model", &tiny()][..],
    ] {
        assert_eq!(tarjim_to_full_disk(args, line), (Some(2), want.clone()), "{args:?}");
    }
}

/// A copy of the tiny model in a temporary directory, to break.
fn tiny_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("tests/fixtures/tiny")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Sets `fields` in the JSON object of `file` in `dir`.
fn set_json(dir: &std::path::Path, file: &str, fields: Value) {
    let path = dir.join(file);
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (key, field) in fields.as_object().unwrap() {
        value[key] = field.clone();
    }
    std::fs::write(&path, value.to_string()).unwrap();
}

/// Rewrites the weights of the model in `dir` through `edit`, which gets each
/// f32 tensor's name and values.
fn edit_weights(dir: &std::path::Path, edit: impl Fn(&str, &mut Vec<f32>)) {
    let path = dir.join("model.safetensors");
    let tensors = tarjim::model::read_weights(&path).unwrap();
    let edited: std::collections::HashMap<String, candle_core::Tensor> = tensors
        .into_iter()
        .map(|(name, tensor)| {
            let shape = tensor.shape().clone();
            let mut values = tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            edit(&name, &mut values);
            (name, candle_core::Tensor::from_vec(values, shape, &candle_core::Device::Cpu).unwrap())
        })
        .collect();
    candle_core::safetensors::save(&edited, &path).unwrap();
}

/// A copy of the tiny model in which `tokens` overflow: their embedding rows are
/// huge (1e30), and their `final_logits_bias` is -1e38, so that the model never
/// writes them. A source holding one, or a decoder fed one, computes NaN.
fn tiny_with_overflowing_tokens(tokens: &[u32]) -> tempfile::TempDir {
    let dir = tiny_copy();
    edit_weights(dir.path(), |name, values| match name {
        "model.shared.weight" => {
            let dim = values.len() / 493;
            for &t in tokens {
                values[t as usize * dim..(t as usize + 1) * dim].fill(1e30);
            }
        }
        "final_logits_bias" => tokens.iter().for_each(|&t| values[t as usize] = -1e38),
        _ => {}
    });
    dir
}

#[test]
fn settings_that_can_never_work_fail_once_at_start_with_exit_2() {
    let input = "قال رئيس الوزراء\nرئيس الوزراء\n".as_bytes();
    let too_many = |beam: &str| {
        format!(
            "tarjim: --beam {beam} is more than this model allows: at most 246 (each step ranks 2 × beam \
             continuations, and the model has 493 target ids)\n"
        )
    };
    for (args, stderr) in [
        (&["--beam", "9223372036854775808"][..], too_many("9223372036854775808")),
        (&["--beam", "1000"], too_many("1000")),
        (&["--beam", "0"], "tarjim: --beam must be at least 1\n".to_string()),
        (&["--max-length", "1"], "tarjim: --max-length must be at least 2\n".to_string()),
        (&["--threads", "100000"], "tarjim: --threads 100000 is more than 1024\n".to_string()),
    ] {
        let out = tarjim(&[&["translate", "--model", &tiny()], args].concat(), input);
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), stderr), "{args:?}");
        assert_eq!(text(&out.stdout), "");
    }
    for (field, message) in [
        (json!({"num_beams": 0}), "num_beams must be at least 1".to_string()),
        (
            json!({"max_length": 0}),
            "max_length 0 leaves no room for output: it counts the decoder start token, so it must be at least 2"
                .to_string(),
        ),
        (
            json!({"max_length": 1}),
            "max_length 1 leaves no room for output: it counts the decoder start token, so it must be at least 2"
                .to_string(),
        ),
    ] {
        let dir = tiny_copy();
        set_json(dir.path(), "generation_config.json", field.clone());
        let model = dir.path().display().to_string();
        let out = tarjim(&["translate", "--model", &model], input);
        assert_eq!(
            (out.status.code(), text(&out.stderr)),
            (Some(2), format!("tarjim: {model}/generation_config.json: invalid generation settings: {message}\n")),
            "{field}"
        );
        assert_eq!(text(&out.stdout), "");
    }
}

#[test]
fn max_length_past_the_position_table_is_clamped_and_every_line_translates() {
    // min_length past the table: every output runs to max_length, so no line
    // could finish before the last position.
    let dir = tiny_copy();
    set_json(dir.path(), "generation_config.json", json!({"min_length": 300}));
    let model = dir.path().display().to_string();
    let (sources, _) = default_case();
    let input = format!("{}\n", sources.join("\n"));
    let run = |max_length: &str| {
        let args = ["translate", "--no-split", "--model", &model, "--glossary-mode", "off", "--format", "jsonl"];
        tarjim(&[&args[..], &["--max-length", max_length]].concat(), input.as_bytes())
    };
    let out = run("100000");
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(0),
            "tarjim: warning: max_length 100000 is more than the model's position table allows; using 257 \
             (max_position_embeddings 256 plus the decoder start token)\n"
                .to_string()
        )
    );
    let rows = |out: &Output| -> Vec<Value> {
        let mut rows: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        rows.iter_mut().for_each(|row| row["time_ms"] = Value::Null);
        rows
    };
    let clamped = rows(&out);
    assert_eq!(clamped.len(), sources.len());
    assert!(clamped.iter().all(|row| row["target_tokens"] == 256), "{clamped:?}");
    let at_limit = run("257");
    assert_eq!((at_limit.status.code(), text(&at_limit.stderr)), (Some(0), String::new()));
    assert_eq!(rows(&at_limit), clamped);
}

#[test]
fn vocabulary_id_outside_the_embedding_fails_at_start_naming_it() {
    let dir = tiny_copy();
    set_json(dir.path(), "vocab.json", json!({"▁قال": 700}));
    let model = dir.path().display().to_string();
    let out = tarjim(&["translate", "--model", &model], "قال رئيس الوزراء\nرئيس الوزراء\n".as_bytes());
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(2),
            format!(
                "tarjim: {model}: vocab.json gives \"▁قال\" the id 700, but the model has 493 token \
                 embeddings (vocab_size in config.json): the vocabulary does not belong to these weights\n"
            )
        )
    );
    assert_eq!(text(&out.stdout), "");
}

const NAN: &str = "decoding failed: the model produced NaN or infinite logits; its weights may be broken";

#[test]
fn nan_weights_fail_every_line_with_a_clear_error() {
    let dir = tiny_copy();
    edit_weights(dir.path(), |name, values| {
        if name == "model.decoder.layers.0.fc1.weight" {
            values[5] = f32::NAN;
        }
    });
    let model = dir.path().display().to_string();
    for beam in ["1", "4"] {
        let out = tarjim(
            &["translate", "--model", &model, "--glossary-mode", "off", "--beam", beam],
            "قال رئيس الوزراء\nرئيس الوزراء\n".as_bytes(),
        );
        assert_eq!(
            (out.status.code(), text(&out.stdout), text(&out.stderr)),
            (Some(1), "\n\n".to_string(), format!("<stdin>:1: {NAN}\n<stdin>:2: {NAN}\n")),
            "beam {beam}"
        );
    }
}

#[test]
fn a_line_that_fails_to_decode_costs_only_itself_not_its_batch() {
    // ▁قال (182) overflows in the encoder: only lines that hold it fail.
    let dir = tiny_with_overflowing_tokens(&[182]);
    let model = dir.path().display().to_string();
    let lines = ["رئيس الوزراء", "قال رئيس الوزراء", "ستعلن الحكومة عن خطة جديدة"];
    for beam in ["1", "4"] {
        let args = ["translate", "--model", &model, "--glossary-mode", "off", "--beam", beam];
        let alone: Vec<String> = [lines[0], lines[2]]
            .iter()
            .map(|line| {
                let out = tarjim(&args, format!("{line}\n").as_bytes());
                assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
                text(&out.stdout)
            })
            .collect();
        let out = tarjim(&args, format!("{}\n", lines.join("\n")).as_bytes());
        assert_eq!(
            (out.status.code(), text(&out.stdout), text(&out.stderr)),
            (Some(1), format!("{}\n{}", alone[0], alone[1]), format!("<stdin>:2: {NAN}\n")),
            "beam {beam}"
        );
    }
}

#[test]
fn a_line_that_fails_under_constraints_costs_only_itself() {
    // ▁Syria (the rendering of سوريا) overflows once the constrained search
    // feeds it to the decoder; the model never writes it unforced.
    let dir = tiny_with_overflowing_tokens(&[346]);
    let tokenizer = tarjim::tokenizer::MarianTokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(tokenizer.encode_target("Syria"), Some(vec![346]));
    assert!(!tokenizer.encode_target("ministers").unwrap().contains(&346));
    let glossary = dir.path().join("g.tsv");
    std::fs::write(
        &glossary,
        "arabic\tenglish\tkind\tvariants\tnote\nسوريا\tSyria\tplace\t\t\nالوزراء\tministers\tother\t\t\n",
    )
    .unwrap();
    let model = dir.path().display().to_string();
    let args = ["translate", "--model", &model, "--no-builtin-glossary", "--glossary", glossary.to_str().unwrap()];
    let lines = ["زار الرئيس سوريا أمس", "قال رئيس الوزراء", "ستعلن الحكومة عن خطة جديدة"];
    let alone: Vec<String> = [lines[1], lines[2]]
        .iter()
        .map(|line| {
            let out = tarjim(&[&args[..], &["--format", "jsonl"]].concat(), format!("{line}\n").as_bytes());
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            text(&out.stdout)
        })
        .collect();
    // The line with ministers is decoded again under constraints, in one batch
    // with the line with Syria.
    let plain =
        tarjim(&["translate", "--model", &model, "--glossary-mode", "off"], format!("{}\n", lines[1]).as_bytes());
    assert!(!text(&plain.stdout).contains("ministers"));
    let placed: Value = serde_json::from_str(&alone[0]).unwrap();
    assert_eq!((placed["terms"].clone(), placed["terms_missed"].clone()), (json!(1), json!(0)));
    let out = tarjim(&[&args[..], &["--format", "jsonl"]].concat(), format!("{}\n", lines.join("\n")).as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("<stdin>:1: {NAN}\n"));
    let rows: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0], json!({"file": "<stdin>", "line": 1, "error": NAN}));
    for (row, alone) in rows[1..].iter().zip(&alone) {
        let mut alone: Value = serde_json::from_str(alone).unwrap();
        alone["line"] = row["line"].clone();
        alone["time_ms"] = row["time_ms"].clone();
        assert_eq!(row, &alone);
    }
}
