//! `tarjim translate` as translators use it: lines split into sentences and
//! joined back, stdin streamed line by line, and TMX memories from
//! `translate` and `batch`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use quick_xml::events::Event as Xml;
use serde_json::Value;

use crate::cli::{SENSE_GLOSSARY, decisions};
use crate::util::{repo, tarjim, text, tiny};

/// Two sentences in one line, the second starting at character 51.
const TWO_SENTENCES: &str =
    "أعلنت وزارة الصحة عن تسجيل حالات جديدة في عدة مدن. عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.";

fn jsonl(stdout: &[u8]) -> Vec<Value> {
    text(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The characters `span` (`[start, end]`) of `text`.
fn chars(text: &str, span: &Value) -> String {
    let (start, end) = (span[0].as_u64().unwrap() as usize, span[1].as_u64().unwrap() as usize);
    text.chars().skip(start).take(end - start).collect()
}

#[test]
fn a_line_of_sentences_is_translated_sentence_by_sentence_and_joined_with_one_space() {
    let model = tiny();
    let base = ["translate", "--model", &model, "--glossary-mode", "off"];
    // Each sentence alone, as a line of its own.
    let alone = tarjim(
        &[&base[..], &["--no-split"]].concat(),
        "أعلنت وزارة الصحة عن تسجيل حالات جديدة في عدة مدن.\nعقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.\n"
            .as_bytes(),
    );
    let parts: Vec<String> = text(&alone.stdout).lines().map(str::to_string).collect();
    assert_eq!(parts.len(), 2);
    let out = tarjim(&base, format!("{TWO_SENTENCES}\n\nسوريا\n").as_bytes());
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()));
    let whole = tarjim(&[&base[..], &["--no-split"]].concat(), "سوريا\n".as_bytes());
    assert_eq!(text(&out.stdout), format!("{} {}\n\n{}", parts[0], parts[1], text(&whole.stdout)));
    // The same line whole goes to the model as one input, as before.
    let unsplit = tarjim(&[&base[..], &["--no-split"]].concat(), format!("{TWO_SENTENCES}\n").as_bytes());
    assert_ne!(text(&unsplit.stdout), format!("{} {}\n", parts[0], parts[1]));

    let rows =
        jsonl(&tarjim(&[&base[..], &["--format", "jsonl"]].concat(), format!("{TWO_SENTENCES}\n").as_bytes()).stdout);
    let row = &rows[0];
    assert_eq!(row["translation"], format!("{} {}", parts[0], parts[1]));
    let sentences = row["sentences"].as_array().unwrap();
    let first_len = parts[0].chars().count() as u64;
    let total_len = first_len + 1 + parts[1].chars().count() as u64;
    assert_eq!(sentences[0]["source_span"], serde_json::json!([0, 50]));
    assert_eq!(sentences[1]["source_span"], serde_json::json!([51, 99]));
    assert_eq!(sentences[0]["target_span"], serde_json::json!([0, first_len]));
    assert_eq!(sentences[1]["target_span"], serde_json::json!([first_len + 1, total_len]));
    for (sentence, part) in sentences.iter().zip(&parts) {
        assert_eq!(sentence["translation"], part.as_str());
        assert_eq!(chars(TWO_SENTENCES, &sentence["source_span"]), sentence["source"].as_str().unwrap());
        assert_eq!(chars(row["translation"].as_str().unwrap(), &sentence["target_span"]), part.as_str());
    }
}

#[test]
fn terms_report_spans_and_alignment_point_into_the_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let model = tiny();
    let line = "قال الرئيس إن الوضع هادئ. ثم زار سوريا.";
    let out = tarjim(
        &["translate", "--model", &model, "--format", "jsonl", "--align", "--report", report.to_str().unwrap()],
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let row = &jsonl(&out.stdout)[0];
    let translation = row["translation"].as_str().unwrap();
    assert_eq!(row["sentences"].as_array().unwrap().len(), 2);
    let reported = &jsonl(&std::fs::read(&report).unwrap())[0];
    let term = &reported["terms"][0];
    assert_eq!((term["term"].as_str(), term["source_text"].as_str()), (Some("سوريا"), Some("سوريا")));
    assert_eq!(term["source_span"], serde_json::json!([33, 38]));
    assert_eq!(chars(line, &term["source_span"]), "سوريا");
    assert_eq!(chars(translation, &term["target_span"]), "Syria");
    // Every word's span, on both sides, holds that word of the whole line.
    for (side, text) in [("source", line), ("target", translation)] {
        let words = row["alignment_words"][side].as_array().unwrap();
        assert!(words.len() > 4, "{side}: {words:?}");
        for word in words {
            assert_eq!(chars(text, &word["span"]), word["text"].as_str().unwrap(), "{side}");
        }
    }
    // Pairs never cross sentences: words of the second sentence link to words of
    // the second sentence's translation.
    let second_source = row["sentences"][1]["source_span"][0].as_u64().unwrap();
    let second_target = row["sentences"][1]["target_span"][0].as_u64().unwrap();
    let starts = |side: &str| -> Vec<u64> {
        row["alignment_words"][side].as_array().unwrap().iter().map(|w| w["span"][0].as_u64().unwrap()).collect()
    };
    let (sources, targets) = (starts("source"), starts("target"));
    for pair in row["alignment"].as_str().unwrap().split(' ') {
        let (s, t) = pair.split_once('-').unwrap();
        let (s, t): (usize, usize) = (s.parse().unwrap(), t.parse().unwrap());
        assert_eq!(sources[s] >= second_source, targets[t] >= second_target, "{pair}");
    }
}

#[test]
fn the_sentences_of_a_line_are_one_document_for_glossary_senses() {
    let dir = tempfile::tempdir().unwrap();
    let glossary = dir.path().join("senses.tsv");
    std::fs::write(&glossary, SENSE_GLOSSARY).unwrap();
    let report = dir.path().join("report.jsonl");
    let model = tiny();
    let mut args = vec!["translate", "--model", &model, "--no-builtin-glossary", "--glossary-mode", "report"];
    args.extend(["--glossary", glossary.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    let out = tarjim(&args, "التقى بشار الأسد وفدا. وقال الأسد إن الوضع هادئ.\n".as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let confirmed = Value::from("the name is confirmed elsewhere in the document");
    assert_eq!(
        decisions(&report),
        vec![(
            vec![
                ("بشار الأسد".to_string(), "Bashar al-Assad".to_string(), Value::Null),
                ("الأسد".to_string(), "Assad".to_string(), confirmed)
            ],
            vec![]
        )]
    );
}

/// The seed article's paragraphs joined into one line: more tokens than the
/// tiny model's 256 positions.
fn long_paragraph() -> String {
    let seed = std::fs::read_to_string(repo("data/corpus/000_ed67191bc9fdfc38.txt")).unwrap();
    seed.lines().filter(|l| !l.starts_with('[') && !l.trim().is_empty()).collect::<Vec<_>>().join(" ")
}

#[test]
fn seed_article_gives_one_line_per_paragraph_from_its_sentences_and_no_line_fails() {
    let model = tiny();
    let seed = repo("data/corpus/000_ed67191bc9fdfc38.txt");
    let args = ["translate", "--model", &model, "--glossary-mode", "off", "--format", "jsonl"];
    let out = tarjim(&[&args[..], &[seed.to_str().unwrap()]].concat(), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = jsonl(&out.stdout);
    let source = std::fs::read_to_string(&seed).unwrap();
    assert_eq!(rows.len(), source.lines().count());
    for (row, line) in rows.iter().zip(source.lines()) {
        assert_eq!(row["source"], line);
        let sentences = row["sentences"].as_array().unwrap();
        assert_eq!(sentences.is_empty(), line.trim().is_empty(), "{line}");
        let joined: Vec<&str> =
            sentences.iter().map(|s| s["translation"].as_str().unwrap()).filter(|t| !t.is_empty()).collect();
        assert_eq!(row["translation"], joined.join(" "));
    }

    // A paragraph over the model's limit fails whole and is translated by its sentences.
    let paragraph = format!("{}\n", long_paragraph());
    let whole = tarjim(&["translate", "--model", &model, "--no-split", "--glossary-mode", "off"], paragraph.as_bytes());
    assert_eq!(whole.status.code(), Some(1));
    assert!(
        text(&whole.stderr).ends_with("more than the model's limit of 256; split the line\n"),
        "{}",
        text(&whole.stderr)
    );
    let split = tarjim(&args, paragraph.as_bytes());
    assert_eq!(split.status.code(), Some(0), "{}", text(&split.stderr));
    let rows = jsonl(&split.stdout);
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["sentences"].as_array().unwrap().len() > 10);
}

#[test]
fn a_sentence_over_the_limit_is_split_at_commas_and_a_word_over_it_fails_its_line_alone() {
    let model = tiny();
    // One sentence, no terminator inside: its clauses go to the model.
    let sentence = long_paragraph().replace(['.', '!', '?', '؟', '؛', '…'], "،");
    let word: String = "سعتفصائلالمعارضةالسوريةاليومالأحد".repeat(20);
    let input = format!("{sentence}\n{word}\nبغداد\n");
    let out = tarjim(&["translate", "--model", &model, "--glossary-mode", "off"], input.as_bytes());
    let tokens = jsonl(&tarjim(&["tokenize", "--model", &model], format!("{word}\n").as_bytes()).stdout)[0]["ids"]
        .as_array()
        .unwrap()
        .len();
    assert!(tokens > 256);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(1),
            format!("<stdin>:2: a word of {tokens} tokens is more than the model's limit of 256 and cannot be split\n")
        )
    );
    let output = text(&out.stdout);
    let outputs: Vec<&str> = output.lines().collect();
    assert_eq!(outputs.len(), 3);
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[1], "");
    assert!(!outputs[2].is_empty());
}

#[test]
fn a_line_on_an_open_pipe_comes_back_before_the_next_is_written() {
    let model = tiny();
    let lines = ["قال الرئيس إن الوضع هادئ.", "سوريا"];
    let want: Vec<String> = lines
        .iter()
        .map(|l| text(&tarjim(&["translate", "--model", &model], format!("{l}\n").as_bytes()).stdout))
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjim"))
        .args(["translate", "--model", &model])
        .env("HF_HOME", cache.path())
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Arc::new(Mutex::new(child));
    // Without streaming the read below would wait for the end of stdin forever:
    // the watchdog kills the child then, so that the read ends and the test fails.
    let (done, watch) = mpsc::channel::<()>();
    let watched = Arc::clone(&child);
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(Duration::from_secs(600)).is_err() {
            let _ = watched.lock().unwrap().kill();
        }
    });
    for (line, want) in lines.iter().zip(&want) {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut got = String::new();
        stdout.read_line(&mut got).unwrap();
        assert_eq!(&got, want, "the translation of `{line}` while stdin is open");
    }
    drop(stdin);
    done.send(()).unwrap();
    watchdog.join().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "");
    assert!(child.lock().unwrap().wait().unwrap().success());
}

/// `(name, value)` pairs: attributes, properties, or `(language, segment)`.
type Pairs = Vec<(String, String)>;

/// A parsed TMX document: the header's attributes and, per unit, its
/// properties and `(language, segment)` pairs.
struct Memory {
    header: Pairs,
    units: Vec<(Pairs, Pairs)>,
}

/// An element's name.
fn name(element: &quick_xml::events::BytesStart) -> String {
    let name = element.name();
    let name: &str = name.as_ref();
    name.to_string()
}

/// An end tag's name.
fn end_name(element: &quick_xml::events::BytesEnd) -> String {
    let name = element.name();
    let name: &str = name.as_ref();
    name.to_string()
}

fn parse_tmx(xml: &str) -> Memory {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut memory = Memory { header: Vec::new(), units: Vec::new() };
    let (mut prop, mut lang) = (None::<String>, None::<String>);
    let mut buffer = String::new();
    let attrs = |e: &quick_xml::events::BytesStart| -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.unwrap();
                let key: &str = a.key.as_ref();
                (key.to_string(), a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned())
            })
            .collect()
    };
    loop {
        match reader.read_event().unwrap() {
            Xml::Eof => break,
            Xml::Start(e) | Xml::Empty(e) if name(&e) == "tmx" => {
                assert_eq!(attrs(&e), vec![("version".to_string(), "1.4".to_string())]);
            }
            Xml::Empty(e) if name(&e) == "header" => memory.header = attrs(&e),
            Xml::Start(e) if name(&e) == "tu" => memory.units.push((Vec::new(), Vec::new())),
            Xml::Start(e) if name(&e) == "prop" => {
                buffer.clear();
                prop = Some(attrs(&e)[0].1.clone());
            }
            Xml::Start(e) if name(&e) == "tuv" => lang = Some(attrs(&e)[0].1.clone()),
            Xml::Start(e) if name(&e) == "seg" => buffer.clear(),
            Xml::Text(t) => buffer.push_str(&t.xml10_content()),
            Xml::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => buffer.push(c),
                None => buffer.push_str(quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).unwrap()),
            },
            Xml::End(e) if end_name(&e) == "prop" => {
                let unit = memory.units.last_mut().unwrap();
                unit.0.push((prop.take().unwrap(), std::mem::take(&mut buffer)));
            }
            Xml::End(e) if end_name(&e) == "seg" => {
                let unit = memory.units.last_mut().unwrap();
                unit.1.push((lang.clone().unwrap(), std::mem::take(&mut buffer)));
            }
            _ => {}
        }
    }
    memory
}

fn assert_header(memory: &Memory) {
    let header: Vec<(&str, &str)> = memory.header.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let date = header.iter().find(|(k, _)| *k == "creationdate").unwrap().1;
    assert!(
        date.len() == 16
            && date.as_bytes()[8] == b'T'
            && date.ends_with('Z')
            && date[..8].bytes().all(|b| b.is_ascii_digit()),
        "{date}"
    );
    assert_eq!(
        header,
        vec![
            ("creationtool", "tarjim"),
            ("creationtoolversion", env!("CARGO_PKG_VERSION")),
            ("datatype", "plaintext"),
            ("segtype", "sentence"),
            ("adminlang", "en"),
            ("srclang", "ar"),
            ("o-tmf", "tarjim"),
            ("creationdate", date),
        ]
    );
}

#[test]
fn translate_tmx_holds_one_unit_per_sentence_with_its_terms() {
    let model = tiny();
    let input = format!("{TWO_SENTENCES}\n\nزار \"الوفد\" <سوريا> & غادر.\n");
    let rows = jsonl(&tarjim(&["translate", "--model", &model, "--format", "jsonl"], input.as_bytes()).stdout);
    let out = tarjim(&["translate", "--model", &model, "--format", "tmx"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let xml = text(&out.stdout);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tmx SYSTEM \"tmx14.dtd\">\n"));
    assert!(xml.contains("<seg>زار &quot;الوفد&quot; &lt;سوريا&gt; &amp; غادر.</seg>"), "{xml}");
    let memory = parse_tmx(&xml);
    assert_header(&memory);
    let mut want = Vec::new();
    for row in &rows {
        for sentence in row["sentences"].as_array().unwrap() {
            want.push((row["line"].as_u64().unwrap(), sentence["source"].clone(), sentence["translation"].clone()));
        }
    }
    assert_eq!(memory.units.len(), 3);
    for ((props, segs), (line, source, translation)) in memory.units.iter().zip(&want) {
        assert_eq!(
            &props[..2],
            &[
                ("x-tarjim-document".to_string(), "<stdin>".to_string()),
                ("x-tarjim-line".to_string(), line.to_string())
            ]
        );
        assert_eq!(
            segs,
            &vec![
                ("ar".to_string(), source.as_str().unwrap().to_string()),
                ("en".to_string(), translation.as_str().unwrap().to_string())
            ]
        );
    }
    assert_eq!(memory.units[2].0[2..], [("x-tarjim-term".to_string(), "سوريا=Syria".to_string())]);
}

#[test]
fn batch_tmx_is_one_memory_per_document_recorded_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("a.txt"), "قال الرئيس إن الوضع هادئ. ثم زار سوريا.\n\nانتهى.\n").unwrap();
    let out = dir.path().join("out");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tarjim"))
            .args(["batch", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--format", "tmx"])
            .args(["--model", &tiny(), "--beam", "1"])
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let xml = std::fs::read_to_string(out.join("a.en.tmx")).unwrap();
    let memory = parse_tmx(&xml);
    assert_header(&memory);
    let units: Vec<(Vec<String>, String)> = memory
        .units
        .iter()
        .map(|(props, segs)| (props.iter().map(|(k, v)| format!("{k}={v}")).collect(), segs[0].1.clone()))
        .collect();
    assert_eq!(units.len(), 3);
    assert_eq!(
        units[0],
        (vec!["x-tarjim-document=a.txt".into(), "x-tarjim-line=1".into()], "قال الرئيس إن الوضع هادئ.".into())
    );
    assert_eq!(units[1].0[1..], ["x-tarjim-line=1".to_string(), "x-tarjim-term=سوريا=Syria".to_string()]);
    assert_eq!(units[2], (vec!["x-tarjim-document=a.txt".into(), "x-tarjim-line=3".into()], "انتهى.".into()));
    let manifest = std::fs::read_to_string(out.join(".tarjim/manifest-all.jsonl")).unwrap();
    assert!(manifest.contains("\"output\":\"a.en.tmx\""), "{manifest}");
    // A rerun finds it done.
    let again = run();
    assert!(
        text(&again.stderr).contains("1 documents in this shard, 1 already done, 0 to translate"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(out.join("a.en.tmx")).unwrap(), xml);
}
