//! `tarjim xliff`: pre-translated XLIFF files validate, differ from their
//! inputs only where targets were filled, and bad files cost only themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

use tarjim::xliff::{Document, NotesAt, Segmented, TargetAt};

use crate::util::{repo, tarjim, text, tiny};

const GLOSSARY: &str =
    "arabic\tenglish\tkind\tvariants\tnote\nالقاهرة\tCairo\tplace\t\t\nمجلس الأمن\tSecurity Council\torg\t\t\n";

fn fixture(name: &str) -> PathBuf {
    repo(&format!("tests/fixtures/xliff/{name}"))
}

/// Runs `tarjim xliff INPUTS -o OUT` with the tiny model and the test glossary.
fn run(inputs: &[&Path], out: &Path) -> std::process::Output {
    let glossary = out.with_extension("tsv");
    std::fs::write(&glossary, GLOSSARY).unwrap();
    let mut args: Vec<String> = vec!["xliff".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), out.display().to_string(), "--model".into(), tiny()]);
    args.extend(["--no-builtin-glossary".into(), "--glossary".into(), glossary.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tarjim(&args, b"")
}

/// `xmllint --schema` on `file`: the errors, or `Ok` when it validates.
fn validate(file: &Path, schema: &str) -> Result<(), String> {
    let schemas = repo("tests/fixtures/xliff/schemas");
    let out = Command::new("xmllint")
        .env("XML_CATALOG_FILES", schemas.join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(schemas.join(schema))
        .arg(file)
        .output()
        .expect("xmllint runs (Debian: apt-get install libxml2-utils; .ci/run installs it)");
    if out.status.success() { Ok(()) } else { Err(text(&out.stderr)) }
}

/// The byte ranges of `input` that pre-translation may replace (targets, the
/// tags that get a state) or insert at (new targets, notes, `trgLang`), read
/// from the input alone.
fn edit_ranges(input: &[u8]) -> Vec<std::ops::Range<usize>> {
    let document = Document::parse(input).unwrap();
    let mut ranges = Vec::new();
    for unit in &document.units {
        for segment in &unit.segments {
            ranges.extend(segment.segment_tag.clone());
            match &segment.target {
                TargetAt::Empty(range) => ranges.push(range.clone()),
                TargetAt::Open { start_tag, content } => ranges.extend([start_tag.clone(), content.clone()]),
                TargetAt::Missing { at, .. } => ranges.push(*at..*at),
                TargetAt::Composed => {}
            }
        }
        match &unit.segmented {
            Some(Segmented::Whole { target: TargetAt::Empty(range), .. }) => ranges.push(range.clone()),
            Some(Segmented::Whole { target: TargetAt::Open { start_tag, content }, .. }) => {
                ranges.extend([start_tag.clone(), content.clone()])
            }
            Some(Segmented::Whole { target: TargetAt::Missing { at, .. }, .. }) => ranges.push(*at..*at),
            Some(Segmented::Marks { start_tag }) => ranges.push(start_tag.clone()),
            Some(Segmented::Whole { target: TargetAt::Composed, .. }) | None => {}
        }
        match &unit.notes {
            NotesAt::AfterTarget { at, .. } | NotesAt::Inside(at) | NotesAt::New { at, .. } => ranges.push(*at..*at),
        }
    }
    ranges.extend(document.trg_lang_at.map(|at| at..at));
    ranges.sort_by_key(|r| (r.start, r.end));
    ranges
}

/// Asserts that `output` is `input` with only the `edit_ranges` changed: the
/// bytes between them appear in the output in order, the first at its start and
/// the last at its end.
fn assert_differs_only_in_edits(input: &[u8], output: &[u8]) {
    let ranges = edit_ranges(input);
    assert!(!ranges.is_empty());
    let mut gaps = Vec::new();
    let mut done = 0;
    for range in &ranges {
        gaps.push(&input[done..range.start.max(done)]);
        done = done.max(range.end);
    }
    let last = &input[done..];
    assert!(output.starts_with(gaps[0]), "the output starts as the input does");
    assert!(output.ends_with(last), "the output ends as the input does");
    let mut at = gaps[0].len();
    for gap in &gaps[1..] {
        let found = output[at..].windows(gap.len().max(1)).position(|w| w == *gap || gap.is_empty());
        let found =
            found.unwrap_or_else(|| panic!("input bytes {:?} missing from the output", String::from_utf8_lossy(gap)));
        at += found + gap.len();
    }
    assert!(at <= output.len() - last.len(), "the kept bytes come in order");
}

#[test]
fn prefilled_files_validate_against_the_oasis_schemas_and_match_expected_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let inputs = [fixture("news-1.2.xlf"), fixture("news-2.0.xlf"), fixture("minimal-2.1.xlf")];
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let out = run(&refs, &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (input, counts) in inputs.iter().zip([
        "4 targets filled, 1 already translated, 3 locked",
        "3 targets filled, 1 already translated, 2 locked",
        "1 targets filled, 0 already translated, 0 locked",
    ]) {
        let name = input.file_name().unwrap();
        let line = format!("{}: {counts} → {}\n", input.display(), out_dir.join(name).display());
        assert!(stderr.contains(&line), "{stderr}");
        let written = std::fs::read(out_dir.join(name)).unwrap();
        let expected = std::fs::read(fixture(&format!("expected/{}", name.to_string_lossy()))).unwrap();
        assert_eq!(text(&written), text(&expected), "{}", name.to_string_lossy());
    }
    // Both the inputs and what tarjim made of them are valid XLIFF.
    for (name, schema) in [
        ("news-1.2.xlf", "xliff-core-1.2-strict.xsd"),
        ("news-2.0.xlf", "xliff_core_2.0.xsd"),
        ("minimal-2.1.xlf", "xliff_core_2.0.xsd"),
    ] {
        validate(&fixture(name), schema).unwrap();
        validate(&out_dir.join(name), schema).unwrap();
    }
}

#[test]
fn output_differs_from_the_input_only_inside_what_was_filled() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    for name in ["news-1.2.xlf", "news-2.0.xlf", "minimal-2.1.xlf"] {
        let out = run(&[&fixture(name)], &out_dir);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let input = std::fs::read(fixture(name)).unwrap();
        assert_differs_only_in_edits(&input, &std::fs::read(out_dir.join(name)).unwrap());
    }
}

#[test]
fn filled_targets_are_marked_as_machine_translation_with_their_glossary_terms() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    run(&[&fixture("news-1.2.xlf"), &fixture("news-2.0.xlf")], &out_dir);
    let v12 = std::fs::read_to_string(out_dir.join("news-1.2.xlf")).unwrap();
    assert!(v12.contains(
        "        <target state=\"needs-review-translation\" state-qualifier=\"mt-suggestion\">Security <bpt id=\"3\">&lt;i&gt;</bpt>Councilctor<ept id=\"3\">&lt;/i&gt;</ept> <ph id=\"4\">&lt;br/&gt;</ph>"
    ));
    assert!(v12.contains("<note from=\"tarjim\" annotates=\"target\">glossary: مجلس الأمن → Security Council</note>"));
    // Translated, final, approved and translate="no" units are left as they were.
    for kept in [
        "<target state=\"translated\">The prime minister said</target>",
        "<target state=\"final\"></target>",
        "<trans-unit id=\"approved\" approved=\"yes\">\n        <source>الحكومة</source>\n      </trans-unit>",
        "<trans-unit id=\"menu\">\n          <source>القائمة</source>\n        </trans-unit>",
    ] {
        assert!(v12.contains(kept), "{kept}");
    }
    let v20 = std::fs::read_to_string(out_dir.join("news-2.0.xlf")).unwrap();
    assert!(v20.contains("<xliff trgLang=\"en\" xmlns="), "a 2.0 file with targets gets trgLang");
    assert!(v20.contains("<segment id=\"s1\" state=\"initial\" subState=\"tarjim:mt\">"));
    assert!(
        v20.contains(
            "<segment id=\"s2\" state=\"final\">\n        <source>قال رئيس الوزراء</source>\n      </segment>"
        )
    );
    assert!(v20.contains(
        "      <notes>\n        <note category=\"editor\">Breaking.</note>\n        <note category=\"tarjim\" appliesTo=\"target\">machine translation by tarjim with model tiny, to be reviewed: segment s1</note>\n        <note category=\"tarjim-glossary\" appliesTo=\"target\">glossary: مجلس الأمن → Security Council</note>\n      </notes>"
    ));
    assert!(v20.contains("<mrk id=\"m1\" translate=\"no\">الحكومة</mrk>"), "untranslatable content is copied");
}

#[test]
fn every_source_code_appears_once_in_its_target_in_source_order() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    run(&[&fixture("news-2.0.xlf")], &out_dir);
    let v20 = std::fs::read_to_string(out_dir.join("news-2.0.xlf")).unwrap();
    let target = v20.split("<target>").nth(2).unwrap().split("</target>").next().unwrap();
    let codes: Vec<&str> =
        target.match_indices('<').map(|(i, _)| &target[i..i + target[i..].find('>').unwrap() + 1]).collect();
    assert_eq!(
        codes,
        [
            "<sc id=\"1\"/>",
            "<ec startRef=\"1\"/>",
            "<mrk id=\"m1\" type=\"term\">",
            "</mrk>",
            "<sm id=\"m2\" type=\"comment\" value=\"check\"/>",
            "<em startRef=\"m2\"/>"
        ]
    );
}

#[test]
fn bad_xml_is_one_line_with_file_line_and_column_and_other_files_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[&fixture("broken.xlf"), &fixture("minimal-2.1.xlf")], &out_dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let broken = fixture("broken.xlf");
    assert!(
        stderr.starts_with(&format!(
            "{}:4:54: broken XML: ill-formed document: expected `</pc>`, but `</source>` was found\n",
            broken.display()
        )),
        "{stderr}"
    );
    assert!(!out_dir.join("broken.xlf").exists(), "nothing is written for a bad file");
    assert!(out_dir.join("minimal-2.1.xlf").exists());
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1, "no temporary file is left");
}

#[test]
fn utf16_files_are_read_and_written_back_in_utf16() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = std::fs::read_to_string(fixture("news-2.0.xlf")).unwrap();
    let declared = utf8.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
    let encode = |text: &str| -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    };
    let input = dir.path().join("in").join("news-2.0.xlf");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::write(&input, encode(&declared)).unwrap();
    let (out_8, out_16) = (dir.path().join("out8"), dir.path().join("out16"));
    assert_eq!(run(&[&fixture("news-2.0.xlf")], &out_8).status.code(), Some(0));
    assert_eq!(run(&[&input], &out_16).status.code(), Some(0));
    let expected = std::fs::read_to_string(out_8.join("news-2.0.xlf")).unwrap();
    let expected = expected.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
    assert_eq!(std::fs::read(out_16.join("news-2.0.xlf")).unwrap(), encode(&expected));
}

#[test]
fn other_encodings_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("latin.xlf");
    let utf8 = std::fs::read_to_string(fixture("minimal-2.1.xlf")).unwrap();
    std::fs::write(
        &input,
        utf8.replacen("<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"windows-1256\"?>", 1),
    )
    .unwrap();
    let out = run(&[&input], &dir.path().join("out"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: the file declares encoding=\"windows-1256\": tarjim reads UTF-8 and UTF-16 (with a byte-order mark); \
             convert it to UTF-8 (e.g. iconv -f windows-1256 -t UTF-8) and change the declaration\n",
            input.display()
        )
    );
}

#[test]
fn an_output_that_would_replace_its_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("minimal-2.1.xlf");
    std::fs::copy(fixture("minimal-2.1.xlf"), &input).unwrap();
    let out = run(&[&input], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("{}: skipped: the output would replace the input\n", input.display()));
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(fixture("minimal-2.1.xlf")).unwrap());
}

#[test]
fn directories_are_searched_and_mirrored_under_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("project");
    std::fs::create_dir_all(tree.join("ar/news")).unwrap();
    std::fs::copy(fixture("minimal-2.1.xlf"), tree.join("ar/news/a.XLIFF")).unwrap();
    std::fs::write(tree.join("ar/readme.txt"), "not XLIFF").unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[&tree], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out_dir.join("ar/news/a.XLIFF").is_file());
    assert!(!out_dir.join("ar/readme.txt").exists());
}

/// The text of `xml` between `<open…>` (the `nth`, from 0) and the next `</close>`.
fn element<'a>(xml: &'a str, open: &str, close: &str, nth: usize) -> &'a str {
    let start = xml.match_indices(open).nth(nth).unwrap_or_else(|| panic!("no {open} #{nth}")).0;
    let content = start + xml[start..].find('>').unwrap() + 1;
    &xml[content..content + xml[content..].find(close).unwrap()]
}

/// `xml` with the text between its tags left out, except runs of whitespace.
fn tags_only(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        if text.trim().is_empty() {
            out.push_str(text);
        }
        let close = open + rest[open..].find('>').unwrap() + 1;
        out.push_str(&rest[open..close]);
        rest = &rest[close..];
    }
    out
}

/// `tarjim translate --document` of `lines` with the tiny model and the test glossary.
fn translate_lines(lines: &[&str], dir: &Path) -> Vec<String> {
    let glossary = dir.join("glossary.tsv");
    std::fs::write(&glossary, GLOSSARY).unwrap();
    let glossary = glossary.display().to_string();
    let model = tiny();
    let args = ["translate", "--document", "--model", &model, "--no-builtin-glossary", "--glossary", &glossary];
    let out = tarjim(&args, format!("{}\n", lines.join("\n")).as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn segmented_units_get_one_target_mrk_per_source_segment_each_translated_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let input = fixture("segmented-1.2.xlf");
    let out = run(&[&input], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = out_dir.join("segmented-1.2.xlf");
    assert_eq!(
        text(&out.stderr),
        format!("{}: 6 targets filled, 3 already translated, 2 locked → {}\n", input.display(), written.display())
    );
    validate(&written, "xliff-core-1.2-strict.xsd").unwrap();
    let bytes = std::fs::read(&input).unwrap();
    assert_differs_only_in_edits(&bytes, &std::fs::read(&written).unwrap());
    let xml = std::fs::read_to_string(&written).unwrap();
    let sentences = ["وصل الوزير إلى القاهرة.", "عقد مجلس الأمن جلسة.", "في المنطقة.", "خطة جديدة."];
    let alone = translate_lines(&sentences, dir.path());
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    // A missing target: the seg-source's segments and the space between them, each mrk translated alone.
    assert!(xml.contains(&format!(
        "</seg-source>\n        <target state=\"needs-review-translation\" state-qualifier=\"mt-suggestion\">\
         <mrk mtype=\"seg\" mid=\"1\">{}</mrk> <mrk mtype=\"seg\" mid=\"2\">{}</mrk></target>\n        \
         <note from=\"tarjim\" annotates=\"target\">glossary: القاهرة → Cairo; مجلس الأمن → Security Council</note>\n      </trans-unit>",
        escape(&alone[0]),
        escape(&alone[1])
    )));
    // Segments inside a <g>: the g, its codes and the segment of codes alone are copied.
    let p2 = element(&xml, "<target state=", "</target>", 1);
    assert_eq!(
        tags_only(p2),
        "<g id=\"1\"><mrk mtype=\"seg\" mid=\"a\"><x id=\"2\"/></mrk> </g><mrk mtype=\"seg\" mid=\"b\"><x id=\"3\"/></mrk>"
    );
    // A target with mrks: only the empty ones are filled; the translated one and the note stay.
    assert!(xml.contains(&format!(
        "<target state=\"needs-review-translation\" state-qualifier=\"mt-suggestion\">\
         <mrk mtype=\"seg\" mid=\"1\">The prime minister said.</mrk> <mrk mtype=\"seg\" mid=\"2\">{}</mrk> \
         <mrk mtype=\"seg\" mid=\"3\">{}</mrk></target>\n        <note from=\"editor\">Segment 1 is done.</note>",
        escape(&alone[2]),
        escape(&alone[3])
    )));
    // Translated and approved segmented units are left as they were.
    let original = std::fs::read_to_string(&input).unwrap();
    for id in ["p4", "p5"] {
        let unit = |x: &str| element(x, &format!("<trans-unit id=\"{id}\""), "</trans-unit>", 0).to_owned();
        assert_eq!(unit(&xml), unit(&original), "{id}");
    }
}

#[test]
fn long_segments_are_translated_sentence_by_sentence_with_codes_placed_in_their_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let sentence = "وصل الوزير إلى القاهرة في زيارة رسمية تستمر يومين.";
    let count = 30;
    // Over the tiny model's 256 positions as one input; each sentence fits.
    let first = sentence.replace("القاهرة", "<pc id=\"1\">القاهرة</pc>");
    let last = sentence.replace("يومين", "<ph id=\"2\"/>يومين");
    let middle = vec![sentence; count - 2].join(" ");
    let source = format!("{first} {middle} {last}");
    let input = dir.path().join("long.xlf");
    std::fs::write(
        &input,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <xliff xmlns=\"urn:oasis:names:tc:xliff:document:2.0\" version=\"2.0\" srcLang=\"ar\" trgLang=\"en\">\n  \
             <file id=\"f1\">\n    <unit id=\"long\">\n      <segment id=\"s1\">\n        <source>{source}</source>\n      \
             </segment>\n    </unit>\n  </file>\n</xliff>\n"
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[&input], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = out_dir.join("long.xlf");
    validate(&written, "xliff_core_2.0.xsd").unwrap();
    let xml = std::fs::read_to_string(&written).unwrap();
    let target = element(&xml, "<target", "</target>", 0);
    assert_eq!(tags_only(target), "<pc id=\"1\"></pc><ph id=\"2\"/>");
    // The sentences' translations joined by a space, as `translate` gives the line.
    let alone = translate_lines(&vec![sentence; count], dir.path());
    let plain = target.replace("<pc id=\"1\">", "").replace("</pc>", "").replace("<ph id=\"2\"/>", "");
    assert_eq!(plain, alone.join(" ").replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"));
    // The pair lies in the first sentence's translation, the point in the last one's.
    let escaped = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let first_end = escaped(&alone[0]).len();
    assert!(target.find("</pc>").unwrap() <= first_end + "<pc id=\"1\">".len(), "{target}");
    let before_last = escaped(&alone[..count - 1].join(" ")).len() + 1;
    assert!(target.find("<ph").unwrap() >= before_last + "<pc id=\"1\"></pc>".len(), "{target}");
}

/// The tags of `xml`, in order.
fn tags(xml: &str) -> Vec<&str> {
    xml.match_indices('<').map(|(i, _)| &xml[i..i + xml[i..].find('>').unwrap() + 1]).collect()
}

#[test]
fn prefixed_xliff_elements_are_resolved_by_namespace_and_written_with_the_file_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let inputs = [fixture("prefixed-1.2.xlf"), fixture("prefixed-2.0.xlf")];
    let out = run(&[&inputs[0], &inputs[1]], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (input, counts, schema) in [
        (&inputs[0], "3 targets filled, 0 already translated, 0 locked", "xliff-core-1.2-strict.xsd"),
        (&inputs[1], "1 targets filled, 0 already translated, 0 locked", "xliff_core_2.0.xsd"),
    ] {
        let written = out_dir.join(input.file_name().unwrap());
        assert!(stderr.contains(&format!("{}: {counts} → {}\n", input.display(), written.display())), "{stderr}");
        validate(&written, schema).unwrap();
        assert_differs_only_in_edits(&std::fs::read(input).unwrap(), &std::fs::read(&written).unwrap());
    }
    let v12 = std::fs::read_to_string(out_dir.join("prefixed-1.2.xlf")).unwrap();
    let t1 = element(&v12, "<xlf:target state=", "</xlf:target>", 0);
    assert_eq!(tags(t1), ["<xlf:g id=\"1\">", "</xlf:g>", "<xlf:x id=\"2\"/>"]);
    assert!(v12.contains("</xlf:target>\n        <xlf:note from=\"tarjim\" annotates=\"target\">glossary: القاهرة → Cairo</xlf:note>\n      </xlf:trans-unit>"));
    let t2 = element(&v12, "<xlf:target state=", "</xlf:target>", 1);
    assert_eq!(
        tags(t2),
        ["<xlf:mrk mtype=\"seg\" mid=\"1\">", "</xlf:mrk>", "<xlf:mrk mtype=\"seg\" mid=\"2\">", "</xlf:mrk>"]
    );
    let v20 = std::fs::read_to_string(out_dir.join("prefixed-2.0.xlf")).unwrap();
    // The tool's own <segment> in its namespace is neither filled nor taken for where notes go.
    assert!(v20.contains(
        "<xlf:unit id=\"u1\">\n      <segment xmlns=\"urn:example:cms\">\n        <source>نص المحرر</source>\n      </segment>\n      \
         <xlf:notes>\n        <xlf:note category=\"tarjim\" appliesTo=\"target\">machine translation by tarjim with model tiny, to be reviewed: segment s1</xlf:note>\n"
    ));
    assert!(v20.contains("<xlf:segment id=\"s1\" state=\"initial\" subState=\"tarjim:mt\">"));
    let target = element(&v20, "<xlf:target>", "</xlf:target>", 0);
    assert_eq!(tags(target), ["<xlf:pc id=\"1\">", "</xlf:pc>", "<xlf:ph id=\"2\"/>"]);
}

#[test]
fn text_marked_translate_no_is_kept_as_written_and_not_sent_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let input = fixture("protected-2.0.xlf");
    let out = run(&[&input], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = out_dir.join("protected-2.0.xlf");
    validate(&written, "xliff_core_2.0.xsd").unwrap();
    let xml = std::fs::read_to_string(&written).unwrap();
    // The model translates the source without the protected word.
    let alone = translate_lines(&["ستعلن  عن خطة جديدة"], dir.path());
    let escaped = alone[0].replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    for (nth, protected) in [
        (0, "<sm id=\"p\" translate=\"no\"/>الحكومة<em startRef=\"p\"/>"),
        (1, "<mrk id=\"m1\" translate=\"no\">الحكومة</mrk>"),
    ] {
        let target = element(&xml, "<target>", "</target>", nth);
        assert_eq!(target.matches(protected).count(), 1, "{target}");
        assert_eq!(target.replacen(protected, "", 1), escaped, "{target}");
    }
}
