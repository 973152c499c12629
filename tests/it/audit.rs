//! `tarjim glossary audit|suggest` and `tarjim translate --align`: exact reports,
//! suggestions and alignments on small hand-written parallel data.

use std::path::Path;

use candle_core::Device;
use serde_json::{Value, json};
use tarjim::align::{Aligner, Method, Target};
use tarjim::glossary::{Glossary, Matcher};
use tarjim::glossary_tools::corpus::{WordLinks, read_parallel};
use tarjim::glossary_tools::{audit, suggest};
use tarjim::translate::Translator;

use crate::util::{run, tarjim, text, tiny, write};

const HEADER: &str = "arabic\tenglish\tkind\tvariants\tnote\n";

/// Arabic news sentences (line 9 is empty in both files).
const SOURCES: &str = "\
قال رئيس الوزراء محمد شياع السوداني إن الحكومة ستدعم الحشد الشعبي.
التقى السوداني وفدا من حزب الله في بغداد.
أعلن الحشد الشعبي عن عملية جديدة في ديالى.
وقال الناطق باسم الحشد الشعبي إن العملية نجحت.
زار وزير الخارجية فؤاد حسين العاصمة طهران.
التقى فؤاد حسين نظيره الإيراني في طهران.
وصل فؤاد حسين إلى أنقرة.
استقبل فؤاد حسين السفير الأمريكي في بغداد.

ودعا حزب الله إلى التهدئة.
";

/// Their translations, with the renderings an archive accumulates.
const TARGETS: &str = "\
Prime Minister Mohammed Shia al-Sudani said the government will support the Popular Mobilization Forces.
Sudani met a Hezbollah delegation in Baghdad.
The Popular Mobilisation Units announced a new operation in Diyala.
A spokesman for the Hashd al-Shaabi said the operation succeeded.
Foreign Minister Fuad Hussein visited the capital Tehran.
Fuad Hussein met his Iranian counterpart in Tehran.
Fouad Hussein arrived in Ankara.
Fuad Hussein received the American ambassador in Baghdad.

Hizbullah called for calm.
";

const GLOSSARY: &str = "\
arabic\tenglish\tkind\tvariants\tnote
الحشد الشعبي\tPopular Mobilization Forces\torg\t\t
حزب الله\tHezbollah\torg\t\t
بغداد\tBaghdad\tplace\t\t
";

/// The parallel files and the glossary in `dir`: (sources, targets, glossary).
fn parallel(dir: &Path) -> (String, String, String) {
    (write(dir, "s.txt", SOURCES), write(dir, "t.txt", TARGETS), write(dir, "g.tsv", GLOSSARY))
}

#[test]
fn audit_reports_terms_and_names_of_parallel_files_as_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (s, t, g) = parallel(dir.path());
    let (code, stdout, stderr) =
        run(&["glossary", "audit", "--no-builtin-glossary", "--glossary", &g, "--source", &s, "--target", &t]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let want = format!(
        "\
# Glossary audit

- Sentence pairs: 9 (0 with word alignments)
- Glossary terms found: 7 occurrences of 3 terms; not always rendered as the glossary says: 2
- Names: Arabic n-grams outside the glossary seen at least 3 times, rendered by co-occurrence (Dice coefficient)

## Glossary terms rendered inconsistently

### الحشد الشعبي → Popular Mobilization Forces

org, 3 occurrences, 1 rendered as the glossary says.

| Rendering | Count |
| --- | ---: |
| (missing) | 2 |
| Popular Mobilization Forces (glossary) | 1 |

Examples:

- (missing), {s}:3
  - أعلن الحشد الشعبي عن عملية جديدة في ديالى.
  - The Popular Mobilisation Units announced a new operation in Diyala.
- (missing), {s}:4
  - وقال الناطق باسم الحشد الشعبي إن العملية نجحت.
  - A spokesman for the Hashd al-Shaabi said the operation succeeded.

### حزب الله → Hezbollah

org, 2 occurrences, 1 rendered as the glossary says.

| Rendering | Count |
| --- | ---: |
| Hezbollah (glossary) | 1 |
| (missing) | 1 |

Examples:

- (missing), {s}:10
  - ودعا حزب الله إلى التهدئة.
  - Hizbullah called for calm.

## Names rendered several ways

### فؤاد حسين

person, 4 occurrences (folded: فؤاد حسين), suggested: Fuad Hussein.

| Rendering | Count |
| --- | ---: |
| Fuad Hussein | 3 |
| Fouad Hussein | 1 |

Examples:

- Fuad Hussein, {s}:5
  - زار وزير الخارجية فؤاد حسين العاصمة طهران.
  - Foreign Minister Fuad Hussein visited the capital Tehran.
- Fuad Hussein, {s}:6
  - التقى فؤاد حسين نظيره الإيراني في طهران.
  - Fuad Hussein met his Iranian counterpart in Tehran.
- Fuad Hussein, {s}:8
  - استقبل فؤاد حسين السفير الأمريكي في بغداد.
  - Fuad Hussein received the American ambassador in Baghdad.
- Fouad Hussein, {s}:7
  - وصل فؤاد حسين إلى أنقرة.
  - Fouad Hussein arrived in Ankara.

To add a rendering to the glossary:

```
tarjim glossary add '{g}' --arabic 'فؤاد حسين' --english 'Fuad Hussein' --kind person
tarjim glossary add '{g}' --arabic 'فؤاد حسين' --english 'Fouad Hussein' --kind person
```
",
        s = s.replace('_', "\\_")
    );
    assert_eq!(stdout, want);

    // -o writes the same report to a file; a higher --min-count leaves no names.
    let out = dir.path().join("audit.md").display().to_string();
    let (code, stdout, _) = run(&[
        "glossary",
        "audit",
        "--no-builtin-glossary",
        "--glossary",
        &g,
        "--source",
        &s,
        "--target",
        &t,
        "--min-count",
        "5",
        "-o",
        &out,
    ]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(report.contains("seen at least 5 times"), "{report}");
    assert!(report.ends_with("## Names rendered several ways\n\nNone.\n"), "{report}");
}

/// A `tarjim batch --format jsonl` output document.
fn batch_document(id: &str, paragraphs: &[(usize, &[(&str, &str)])]) -> String {
    let paragraphs: Vec<Value> = paragraphs
        .iter()
        .map(|(line, sentences)| {
            json!({"line": line, "sentences": sentences.iter().map(|(s, t)| json!({"source": s, "translation": t})).collect::<Vec<_>>()})
        })
        .collect();
    format!("{}\n", json!({"id": id, "source": "", "translation": "", "paragraphs": paragraphs, "removed": []}))
}

#[test]
fn audit_reads_batch_output_directories_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let a = write(
        &out,
        "news/a.txt.en.jsonl",
        batch_document(
            "news/a.txt",
            &[
                (
                    1,
                    &[
                        ("أعلن الحشد الشعبي عن عملية.", "The PMF announced an operation."),
                        ("وقال <مصدر>:", "A \"source\" said:"),
                    ],
                ),
                (3, &[("دعم الحشد الشعبي القوات.", "The Popular Mobilization Forces supported the troops.")]),
            ],
        ),
    );
    let b = write(
        &out,
        "b.en.jsonl",
        batch_document("b", &[(2, &[("زار الحشد الشعبي بغداد.", "The Hashd visited Baghdad.")])]),
    );
    // Job state, other outputs and inputs are not read.
    write(&out, ".tarjim/manifest-0.jsonl", "not json\n");
    write(&out, "c.en.txt", "not json\n");
    let g = write(dir.path(), "g.tsv", GLOSSARY);
    let (code, stdout, stderr) = run(&[
        "glossary",
        "audit",
        "--no-builtin-glossary",
        "--glossary",
        &g,
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let got: Value = serde_json::from_str(&stdout).unwrap();
    let example = |file: &str, line: usize, source: &str, translation: &str| json!({"location": format!("{file}:{line}"), "source": source, "translation": translation});
    let want = json!({
        "pairs": 4, "aligned_pairs": 0, "term_occurrences": 4, "terms_found": 2,
        "terms": [{
            "arabic": "الحشد الشعبي", "english": "Popular Mobilization Forces", "kind": "org", "occurrences": 3,
            "renderings": [
                {"rendering": null, "glossary": false, "count": 2, "examples": [
                    example(&b, 2, "زار الحشد الشعبي بغداد.", "The Hashd visited Baghdad."),
                    example(&a, 1, "أعلن الحشد الشعبي عن عملية.", "The PMF announced an operation."),
                ]},
                {"rendering": "Popular Mobilization Forces", "glossary": true, "count": 1, "examples": []},
            ],
        }],
        "names": {"evidence": "co-occurrence", "min_count": 3, "items": []},
    });
    assert_eq!(got, want);
    assert!(stdout.ends_with("}\n"));
}

#[test]
fn audit_takes_candidates_from_translate_alignments_and_writes_html() {
    let dir = tempfile::tempdir().unwrap();
    // What `translate --format jsonl --align` writes (other fields left out).
    let lines = [
        json!({"file": "news.ar", "line": 1, "source": "قال حزب الله إن طهران تدعمه",
               "translation": "Hizbullah said that <Tehran> & 'Iran' support it",
               "alignment": "0-1 1-0 2-0 3-2 4-3 5-6 5-7",
               "alignment_words": {
                   "source": [{"text": "قال", "span": [0, 3]}, {"text": "حزب", "span": [4, 7]},
                              {"text": "الله", "span": [8, 12]}, {"text": "إن", "span": [13, 15]},
                              {"text": "طهران", "span": [16, 21]}, {"text": "تدعمه", "span": [22, 27]}],
                   "target": [{"text": "Hizbullah", "span": [0, 9]}, {"text": "said", "span": [10, 14]},
                              {"text": "that", "span": [15, 19]}, {"text": "<Tehran>", "span": [20, 28]},
                              {"text": "&", "span": [29, 30]}, {"text": "'Iran'", "span": [31, 37]},
                              {"text": "support", "span": [38, 45]}, {"text": "it", "span": [46, 48]}]}}),
        json!({"file": "news.ar", "line": 2, "error": "decoding failed"}),
        json!({"file": "news.ar", "line": 3, "source": "حزب الله", "translation": "Hezbollah"}),
    ];
    let input = write(dir.path(), "news.jsonl", lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    let g = write(dir.path(), "g.tsv", format!("{HEADER}حزب الله\tHezbollah\torg\t\t\nطهران\tTehran\tplace\t\t\n"));
    let (code, stdout, stderr) =
        run(&["glossary", "audit", "--no-builtin-glossary", "--glossary", &g, &input, "--format", "html"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let example = format!(
        "{input}:1<br>\n<span lang=\"ar\" dir=\"rtl\">قال حزب الله إن طهران تدعمه</span><br>\n\
         Hizbullah said that &lt;Tehran&gt; &amp; &#39;Iran&#39; support it</li>"
    );
    let want = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Glossary audit</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; }}
td.count {{ text-align: right; }}
</style>
</head>
<body>
<h1>Glossary audit</h1>
<ul>
<li>Sentence pairs: 2 (1 with word alignments)</li>
<li>Glossary terms found: 3 occurrences of 2 terms; not always rendered as the glossary says: 1</li>
<li>Names: Arabic n-grams outside the glossary seen at least 3 times, rendered by word alignments</li>
</ul>
<h2>Glossary terms rendered inconsistently</h2>
<h3><span lang="ar" dir="rtl">حزب الله</span> → Hezbollah</h3>
<p>org, 2 occurrences, 1 rendered as the glossary says.</p>
<table>
<tr><th>Rendering</th><th>Count</th></tr>
<tr><td>Hezbollah (glossary)</td><td class="count">1</td></tr>
<tr><td>Hizbullah</td><td class="count">1</td></tr>
</table>
<p>Examples:</p>
<ul>
<li>Hizbullah, {example}
</ul>
<h2>Names rendered several ways</h2>
<p>None.</p>
</body>
</html>
"#
    );
    assert_eq!(stdout, want);
}

#[test]
fn suggest_mines_names_the_glossary_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let (s, t, g) = parallel(dir.path());
    let args = ["glossary", "suggest", "--no-builtin-glossary", "--glossary", &g, "--source", &s, "--target", &t];
    let (code, stdout, stderr) = run(&[&args[..], &["--min-count", "2"]].concat());
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "{HEADER}\
             فؤاد حسين\tFuad Hussein\tperson\t\tcount 4, consistency 75%, cues Minister ×1\n\
             طهران\tTehran\tplace\t\tcount 2, consistency 100%, cues in ×1; العاصمة ×1\n"
        )
    );
    // السوداني is rendered by its whole run only half the time, which does not
    // sound like it: no suggestion.
    assert_eq!(stderr, "tarjim: 2 suggestions from 9 sentence pairs, renderings by co-occurrence (Dice coefficient)\n");
    // The default --min-count is 3; the output is a glossary `lint` accepts.
    let out = dir.path().join("suggested.tsv").display().to_string();
    let (code, stdout, _) = run(&[&args[..], &["-o", &out]].concat());
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{HEADER}فؤاد حسين\tFuad Hussein\tperson\t\tcount 4, consistency 75%, cues Minister ×1\n")
    );
    assert_eq!(run(&["glossary", "lint", &out]), (0, String::new(), String::new()));
    // It loads as a glossary: what it names is no longer suggested.
    let (code, stdout, _) = run(&[&args[..], &["--min-count", "2", "--glossary", &out]].concat());
    assert_eq!(
        (code, stdout),
        (0, format!("{HEADER}طهران\tTehran\tplace\t\tcount 2, consistency 100%, cues in ×1; العاصمة ×1\n"))
    );
    // The built-in glossary knows Fuad Hussein and Tehran.
    let (code, stdout, _) = run(&["glossary", "suggest", "--source", &s, "--target", &t, "--min-count", "2"]);
    assert_eq!((code, stdout), (0, HEADER.to_string()));
}

#[test]
fn audit_and_suggest_align_with_a_model() {
    // With --model, each pair is aligned by forcing its translation on the tiny
    // model: the commands print what the library gives for those alignments.
    let dir = tempfile::tempdir().unwrap();
    let (s, t, g) = parallel(dir.path());
    let translator = Translator::from_dir(Path::new(&tiny()), &Device::Cpu).unwrap();
    let aligner =
        Aligner::new(translator.model(), translator.tokenizer(), translator.model().alignment_head()).unwrap();
    let mut pairs = read_parallel(SOURCES.as_bytes(), &s, TARGETS.as_bytes(), &t).unwrap();
    let lines: Vec<(&str, Target)> = pairs.iter().map(|p| (p.source.as_str(), Target::Text(&p.target))).collect();
    let alignments = aligner.align(&lines, 16);
    for (pair, alignment) in pairs.iter_mut().zip(alignments) {
        let alignment = alignment.unwrap();
        pair.links = Some(WordLinks::new(&alignment, alignment.pairs(Method::Argmax)));
    }
    let mut glossary = Glossary::new();
    glossary.add(GLOSSARY.as_bytes(), &g).unwrap();

    let common = ["--no-builtin-glossary", "--glossary", &g, "--source", &s, "--target", &t, "--model", &tiny()];
    let (code, stdout, stderr) = run(&[&["glossary", "audit", "--format", "json"][..], &common].concat());
    assert_eq!((code, stderr.as_str()), (0, ""));
    let mut report = audit::audit(&pairs, &glossary, 3);
    assert_eq!(report.aligned_pairs, 9);
    // The commands that add a name write to the last --glossary file.
    report.add_to = g.clone();
    assert_eq!(stdout, format!("{}\n", serde_json::to_string_pretty(&report.json()).unwrap()));

    let (code, stdout, stderr) = run(&[&["glossary", "suggest", "--min-count", "2"][..], &common].concat());
    assert_eq!(code, 0);
    let (_, suggestions) = suggest::suggest(&pairs, &Matcher::new(&glossary), 2);
    assert_eq!(stdout, suggest::suggestions_tsv(&suggestions).unwrap());
    assert_eq!(
        stderr,
        format!("tarjim: {} suggestions from 9 sentence pairs, renderings by word alignments\n", suggestions.len())
    );
}

#[test]
fn unreadable_inputs_are_one_line_errors_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let (s, t, _) = parallel(dir.path());
    let bad_utf8 = write(dir.path(), "bad.txt", b"\xd8\xa3\n\xff\xfe\n");
    let short = write(dir.path(), "short.txt", "A\nB\n");
    let bad_json =
        write(dir.path(), "x.en.jsonl", "{\"paragraphs\": [{\"line\": 1, \"sentences\": [{\"source\": 1}]}]}\n");
    let not_json = write(dir.path(), "y.en.jsonl", "\n\nnot json\n");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.display().to_string();
    let missing = dir.path().join("missing.en.jsonl").display().to_string();
    for command in ["audit", "suggest"] {
        for (args, message) in [
            (vec!["--source", &s, "--target", &bad_utf8], format!("{bad_utf8}:2: invalid UTF-8 at byte 0")),
            (
                vec!["--source", &s, "--target", &short],
                format!("{short}:3: missing: {s} has 10 lines, {short} has 2 lines"),
            ),
            (
                vec!["--source", &short, "--target", &t],
                format!("{t}:3: extra line: {short} has 2 lines, {t} has 10 lines"),
            ),
            (
                vec![bad_json.as_str()],
                format!("{bad_json}:1: not a tarjim batch document: invalid type: integer `1`, expected a string"),
            ),
            (vec![not_json.as_str()], format!("{not_json}:3: invalid JSON: expected ident at line 1 column 2")),
            (vec![empty.as_str()], format!("{empty}: no *.en.jsonl files in this directory")),
            (vec![missing.as_str()], format!("{missing}: cannot read: No such file or directory (os error 2)")),
            (vec!["--source", &s], "--source and --target go in pairs: 1 --source, 0 --target".to_string()),
            (vec![], "no input: give tarjim batch or translate outputs, or --source FILE --target FILE".to_string()),
            (vec!["--source", &s, "--target", &t, "--min-count", "0"], "--min-count must be at least 1".to_string()),
        ] {
            let (code, stdout, stderr) = run(&[&["glossary", command][..], &args].concat());
            assert_eq!((code, stdout.as_str()), (2, ""), "{command} {args:?}");
            assert_eq!(stderr, format!("tarjim: {message}\n"), "{command} {args:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// translate --align
// ---------------------------------------------------------------------------

/// Lines for the tiny model: two with glossary terms, an empty one.
const LINES: &str = "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.
عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.

قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة
";

/// The stdout lines of a command, parsed as JSON.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn translate_align_adds_the_alignment_tarjim_align_prints() {
    let jsonl = tarjim(
        &["translate", "--model", &tiny(), "--glossary-mode", "off", "--format", "jsonl", "--align"],
        LINES.as_bytes(),
    );
    assert_eq!(text(&jsonl.stderr), "");
    assert!(jsonl.status.success());
    let aligned = tarjim(&["align", "--model", &tiny(), "--format", "json"], LINES.as_bytes());
    assert!(aligned.status.success(), "{}", text(&aligned.stderr));
    let (translated, aligned) = (json_lines(&jsonl.stdout), json_lines(&aligned.stdout));
    assert_eq!(translated.len(), 4);
    assert_eq!(aligned.len(), 4);
    for (t, a) in translated.iter().zip(&aligned) {
        assert_eq!(t["translation"], a["target"]);
        let pairs: Vec<String> = a["pairs"].as_array().unwrap().iter().map(|p| format!("{}-{}", p[0], p[1])).collect();
        assert_eq!(t["alignment"], pairs.join(" "));
        assert_eq!(t["alignment_words"], json!({"source": a["source_words"], "target": a["target_words"]}));
    }
    assert_eq!(translated[2]["alignment"], "");
    assert_eq!(translated[0]["terms_unaligned"], 0);
    assert!(translated[0]["alignment"].as_str().unwrap().contains('-'));

    // Alignments need the jsonl format.
    let out = tarjim(&["translate", "--model", &tiny(), "--align"], LINES.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "tarjim: --align needs --format jsonl\n");
}

#[test]
fn translate_align_reports_whether_placed_terms_align_to_their_source_span() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(
        dir.path(),
        "g.tsv",
        format!(
            "{HEADER}القاهرة\tCairo\tplace\t\t\nمجلس الأمن\tSecurity Council\torg\t\t\nالحكومة\tgovernment\tother\t\t\n"
        ),
    );
    let report = dir.path().join("report.jsonl");
    let out = tarjim(
        &[
            "translate",
            "--model",
            &tiny(),
            "--no-builtin-glossary",
            "--glossary",
            &g,
            "--format",
            "jsonl",
            "--align",
            "--report",
            report.to_str().unwrap(),
        ],
        LINES.as_bytes(),
    );
    assert_eq!(text(&out.stderr), "");
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    let reports: Vec<Value> =
        std::fs::read_to_string(&report).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), 3);
    let mut checked = 0;
    for (line, report) in lines.iter().filter(|l| l["translation"] != "").zip(&reports) {
        let words = |side: &str| -> Vec<(usize, usize)> {
            line["alignment_words"][side]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| (w["span"][0].as_u64().unwrap() as usize, w["span"][1].as_u64().unwrap() as usize))
                .collect()
        };
        let (source_words, target_words) = (words("source"), words("target"));
        let pairs: Vec<(usize, usize)> = line["alignment"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (s, t) = p.split_once('-').unwrap();
                (s.parse().unwrap(), t.parse().unwrap())
            })
            .collect();
        let mut unaligned = 0;
        for term in report["terms"].as_array().unwrap() {
            assert_eq!(term["placed"], true, "{term}");
            let span = |key: &str| (term[key][0].as_u64().unwrap() as usize, term[key][1].as_u64().unwrap() as usize);
            let ((ss, se), (ts, te)) = (span("source_span"), span("target_span"));
            let sources: Vec<usize> =
                (0..source_words.len()).filter(|&i| source_words[i].0 < se && ss < source_words[i].1).collect();
            let targets: Vec<usize> =
                (0..target_words.len()).filter(|&j| target_words[j].0 < te && ts < target_words[j].1).collect();
            let want = !targets.is_empty()
                && targets.iter().all(|t| pairs.iter().any(|(s, pt)| pt == t && sources.contains(s)));
            assert_eq!(term["aligned"], want, "{term} in {line}");
            unaligned += usize::from(!want);
            checked += 1;
        }
        assert_eq!(line["terms_unaligned"], unaligned);
    }
    assert_eq!(checked, 3, "Cairo, Security Council, government");
}

/// News about a storm and a channel: a descriptor that the English name holds
/// (إعصار: Hurricane), one that it does not (مدينة), and a name that is also a
/// common word (الجزيرة, "the island").
const STORM_SOURCES: &str = "\
ضرب إعصار ميلتون سواحل فلوريدا.
تسبب إعصار ميلتون في انقطاع الكهرباء.
وصل إعصار ميلتون إلى اليابسة.
زار الوزير مدينة تامبا.
غمرت المياه شوارع مدينة تامبا.
عاد السكان إلى تامبا.
بثت قناة الجزيرة المقابلة كاملة.
ونشرت قناة الجزيرة صور الفيضان.
وانتهى الاجتماع بحسب الجزيرة.
";

const STORM_TARGETS: &str = "\
Hurricane Milton hit the coast of Florida.
Hurricane Milton caused power cuts.
Hurricane Milton made landfall.
The minister visited Tampa.
Water flooded the streets of Tampa.
Residents returned to Tampa.
Al Jazeera broadcast the full interview.
Al Jazeera published pictures of the flood.
The meeting ended, according to Al Jazeera.
";

#[test]
fn suggest_puts_descriptors_the_english_name_holds_in_the_term_and_marks_common_words_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let (s, t) = (write(dir.path(), "s.txt", STORM_SOURCES), write(dir.path(), "t.txt", STORM_TARGETS));
    let out = dir.path().join("suggested.tsv").display().to_string();
    let args = ["glossary", "suggest", "--no-builtin-glossary", "--source", &s, "--target", &t];
    let (code, stdout, stderr) = run(&[&args[..], &["-o", &out]].concat());
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(stderr, "tarjim: 3 suggestions from 9 sentence pairs, renderings by co-occurrence (Dice coefficient)\n");
    // A term that is a common word makes the file one with the sense columns.
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "arabic\tenglish\tkind\tvariants\tnote\tshort\tambiguous\tconfirm\trefute\n\
         إعصار ميلتون\tHurricane Milton\tother\t\tcount 3, consistency 100%\t\t\t\t\n\
         الجزيرة\tAl Jazeera\tother\t\tcount 3, consistency 100%\t\tالجزيرة\tقناة ~\t\n\
         تامبا\tTampa\tplace\t\tcount 3, consistency 100%, cues مدينة ×2\t\t\t\t\n"
    );
    // `glossary lint` accepts it as it is, and `--glossary` loads it: what it
    // names is no longer suggested.
    assert_eq!(run(&["glossary", "lint", &out]), (0, String::new(), String::new()));
    let (code, stdout, _) = run(&[&args[..], &["--glossary", &out]].concat());
    assert_eq!((code, stdout), (0, "arabic\tenglish\tkind\tvariants\tnote\n".to_string()));
}
