//! `tarjim glossary`: lint, export, import and add, with exact outputs, files and
//! exit codes.

use std::path::{Path, PathBuf};

use crate::util::{repo, run, text, tiny, write};

const HEADER: &str = "arabic\tenglish\tkind\tvariants\tnote\n";
const HEADER_SENSES: &str = "arabic\tenglish\tkind\tvariants\tnote\tshort\tambiguous\tconfirm\trefute\n";

/// A glossary with the sense columns, each of them used.
const SENSES: &str = "arabic\tenglish\tkind\tvariants\tnote\tshort\tambiguous\tconfirm\trefute\n\
     الجزيرة\tAl Jazeera\torg\tقناة الجزيرة\tQatar\t\tالجزيرة\tقناة ~|~ الإخبارية\tشبه ~\n\
     دونالد ترامب\tDonald Trump\tperson\t\t\tترامب=Trump|دونالد=Donald\t\t\t\n";

/// The TBX export of the glossary in `glossary_export_writes_each_format_and_says_what_it_drops`.
const TBX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
  <tbxHeader>
    <fileDesc>
      <sourceDesc>
        <p>Arabic names with the English renderings tarjim enforces</p>
      </sourceDesc>
    </fileDesc>
  </tbxHeader>
  <text>
    <body>
      <conceptEntry id="c1">
        <descrip type="subjectField">org</descrip>
        <note>Lebanon, &quot;the party&quot;</note>
        <langSec xml:lang="ar">
          <termSec>
            <term>حزب الله</term>
            <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote>
          </termSec>
          <termSec>
            <term>حزب الله اللبناني</term>
            <termNote type="administrativeStatus">admittedTerm-admn-sts</termNote>
          </termSec>
        </langSec>
        <langSec xml:lang="en">
          <termSec>
            <term>Hezbollah</term>
          </termSec>
        </langSec>
      </conceptEntry>
      <conceptEntry id="c2">
        <descrip type="subjectField">other</descrip>
        <langSec xml:lang="ar">
          <termSec>
            <term>صنعاء</term>
            <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote>
          </termSec>
        </langSec>
        <langSec xml:lang="en">
          <termSec>
            <term>Sanaa</term>
          </termSec>
        </langSec>
      </conceptEntry>
    </body>
  </text>
</tbx>
"#;

/// The names of the files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn glossary_lint_reports_each_finding_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.tsv",
        format!(
            "{HEADER}حزب الله\tHezbollah\torg\tحزب الله اللبناني\t\nحماس\tHamas\torg\n\
             حماسX\tHamas حماس\torg\t\t\nصنعاء\tSanaa \tplace\tصنعا|صنعأ\t\n"
        ),
    );
    let b =
        write(dir.path(), "b.tsv", format!("{HEADER}حزب الله\tHizbullah\torg\t\t\nحركة حماس\tHamas\torg\tحماس\t\n"));
    let (code, stdout, stderr) = run(&["glossary", "lint", &a, &b]);
    assert_eq!(
        stdout,
        format!(
            "{a}:3:15: error: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 3\n\
             {a}:4:5: warning: Latin letter `X` in the arabic column\n\
             {a}:4:13: error: Arabic letter `ح` in the english column\n\
             {a}:5: warning: variant `صنعا` is also a common word (related forms such as `صنع` are frequent): mark it \
             ambiguous and give confirm cues\n\
             {a}:5: warning: variant `صنعأ` folds like variant `صنعا` of the same entry\n\
             {a}:5:7: warning: leading, trailing or repeated whitespace in the english column\n\
             {b}:2: error: `حزب الله` is rendered `Hizbullah` here but `Hezbollah` at {a}:2\n"
        )
    );
    assert_eq!(stderr, "");
    assert_eq!(code, 1);

    // Warnings alone leave the exit code 0; a clean file prints nothing.
    let warned = write(dir.path(), "w.tsv", format!("{HEADER}حماس\tHamas\torg\t\t\nحَماس\tHamas\torg\t\t\n"));
    assert_eq!(
        run(&["glossary", "lint", &warned]),
        (0, format!("{warned}:3: warning: repeats the entry at line 2\n"), String::new())
    );
    let builtin = repo("glossaries/builtin.tsv").display().to_string();
    assert_eq!(run(&["glossary", "lint", &builtin]), (0, String::new(), String::new()));

    // A file that cannot be read stops everything.
    let missing = dir.path().join("missing.tsv").display().to_string();
    let (code, stdout, stderr) = run(&["glossary", "lint", &warned, &missing]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(stderr, format!("tarjim: {missing}: cannot read: No such file or directory (os error 2)\n"));
}

#[test]
fn glossary_lint_json_lines_and_model_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    // The tiny test model's vocabulary writes `Syria` but not `Jericho`.
    let file = write(
        dir.path(),
        "g.tsv",
        format!("{HEADER}أريحا\tJericho\tplace\t\t\nسوريا\tSyria\tplace\t\t\nصنعاء\tSanaa\tplace\tصنعاء\t\n"),
    );
    let (code, stdout, stderr) = run(&["glossary", "lint", "--format", "json", "--model", &tiny(), &file]);
    let esc = serde_json::to_string(&file).unwrap();
    assert_eq!(
        stdout,
        format!(
            "{{\"file\":{esc},\"line\":2,\"column\":7,\"severity\":\"error\",\"code\":\"unwritable\",\
             \"message\":\"the model's target vocabulary cannot write `Jericho`\"}}\n\
             {{\"file\":{esc},\"line\":4,\"column\":null,\"severity\":\"warning\",\"code\":\"redundant-variant\",\
             \"message\":\"variant `صنعاء` folds to the term itself\"}}\n"
        )
    );
    assert_eq!((code, stderr.as_str()), (1, ""));
    let (code, _, stderr) = run(&["glossary", "lint", "--model", "/nonexistent/model", &file]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("tarjim: /nonexistent/model"), "{stderr}");
}

#[test]
fn glossary_builtin_round_trips_through_csv_and_tbx() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = repo("glossaries/builtin.tsv");
    let original = std::fs::read_to_string(&builtin).unwrap();
    let source = builtin.display().to_string();
    for format in ["csv", "tbx"] {
        let exported = dir.path().join(format!("builtin.{format}")).display().to_string();
        let back = dir.path().join(format!("{format}.tsv")).display().to_string();
        assert_eq!(
            run(&["glossary", "export", &source, "--to", format, "-o", &exported]),
            (0, String::new(), String::new())
        );
        assert_eq!(
            run(&["glossary", "import", &exported, "--from", format, "-o", &back]),
            (0, String::new(), String::new())
        );
        assert_eq!(std::fs::read_to_string(&back).unwrap(), original, "{format}");
        // Without -o the same text goes to stdout.
        let (code, stdout, _) = run(&["glossary", "import", &exported, "--from", format]);
        assert_eq!((code, stdout), (0, original.clone()));
    }
}

#[test]
fn glossary_export_writes_each_format_and_says_what_it_drops() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "g.tsv",
        format!(
            "{HEADER}حزب الله\tHezbollah\torg\tحزب الله اللبناني\tLebanon, \"the party\"\nصنعاء\tSanaa\tother\t\t\n"
        ),
    );
    let (code, stdout, stderr) = run(&["glossary", "export", &file, "--to", "csv"]);
    assert_eq!(
        stdout,
        "arabic,english,kind,variants,note\n\
         حزب الله,Hezbollah,org,حزب الله اللبناني,\"Lebanon, \"\"the party\"\"\"\n\
         صنعاء,Sanaa,other,,\n"
    );
    assert_eq!((code, stderr.as_str()), (0, ""));
    let rows = "حزب الله,Hezbollah\nحزب الله اللبناني,Hezbollah\nصنعاء,Sanaa\n";
    for (format, header) in [("deepl", ""), ("google", ""), ("amazon", "ar,en\n")] {
        let (code, stdout, stderr) = run(&["glossary", "export", &file, "--to", format]);
        assert_eq!(stdout, format!("{header}{rows}"), "{format}");
        assert_eq!(
            stderr,
            format!(
                "tarjim: warning: {format}: kind and note columns are not representable; 1 entries affected\n\
                 tarjim: warning: {format}: variants become rows of their own and are read back as entries of their own; 1 entries affected\n"
            )
        );
        assert_eq!(code, 0);
    }
    let (code, stdout, stderr) = run(&["glossary", "export", &file, "--to", "tbx"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(stdout, TBX);

    // The input must be a valid glossary.
    let bad = write(dir.path(), "bad.tsv", format!("{HEADER}حماس\tHamas\torg\t\t\nحماس\tHAMAS\torg\t\t\n"));
    assert_eq!(
        run(&["glossary", "export", &bad, "--to", "csv"]),
        (2, String::new(), format!("tarjim: {bad}:3: `حماس` is rendered `HAMAS` here but `Hamas` at line 2\n"))
    );
}

#[test]
fn glossary_import_reads_each_format_into_canonical_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let want = format!("{HEADER}حماس\tHamas\tperson\t\t\nصنعاء\tSanaa\tperson\t\t\n");
    for (format, contents) in [
        ("deepl", "صنعاء,Sanaa\nحماس,Hamas\n"),
        ("google", "ar,en\nصنعاء,Sanaa\n\"حماس\",Hamas\n"),
        ("google", "صنعاء,Sanaa\nحماس,Hamas\n"),
        ("amazon", "ar,en\r\nصنعاء,Sanaa\r\nحماس,Hamas\r\n"),
    ] {
        let file = write(dir.path(), "in.csv", contents);
        assert_eq!(
            run(&["glossary", "import", &file, "--from", format, "--kind", "person"]),
            (0, want.clone(), String::new())
        );
    }
    let file = write(dir.path(), "in.csv", "صنعاء,Sanaa\nصنعاء,Sanaa\n");
    assert_eq!(
        run(&["glossary", "import", &file, "--from", "deepl"]),
        (
            0,
            format!("{HEADER}صنعاء\tSanaa\tother\t\t\n"),
            format!("tarjim: warning: {file}:2: repeats the entry at line 1 (ignored)\n")
        )
    );
    let tbx = write(dir.path(), "in.tbx", TBX);
    assert_eq!(
        run(&["glossary", "import", &tbx, "--from", "tbx"]),
        (
            0,
            format!(
                "{HEADER}حزب الله\tHezbollah\torg\tحزب الله اللبناني\tLebanon, \"the party\"\nصنعاء\tSanaa\tother\t\t\n"
            ),
            String::new()
        )
    );
}

#[test]
fn glossary_import_bad_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "csv",
            "columns.csv",
            "arabic,english,kind,variants,note\nحماس,Hamas,org,,\n\nصنعاء,Sanaa\n".into(),
            "4: expected 5 columns (arabic, english, kind, variants, note), found 2",
        ),
        (
            "csv",
            "header.csv",
            "arabic,english\n".into(),
            "1: expected the header `arabic,english,kind,variants,note` or \
             `arabic,english,kind,variants,note,short,ambiguous,confirm,refute`",
        ),
        ("deepl", "columns.csv", "حماس,Hamas,org\n".into(), "1: expected 2 columns (Arabic, English), found 3"),
        ("amazon", "header.csv", "حماس,Hamas\n".into(), "1: expected the header `ar,en` (the languages' codes)"),
        (
            "csv",
            "utf8.csv",
            b"arabic,english,kind,variants,note\n\xd8\xad\xff,Hamas,org,,\n".to_vec(),
            "2:2: invalid UTF-8",
        ),
        ("google", "utf8.csv", b"ar,en\nx,\xc3\n".to_vec(), "2:3: invalid UTF-8"),
        ("tbx", "utf8.tbx", b"<tbx>\n<text>\xe2\x82</text></tbx>".to_vec(), "2:7: invalid UTF-8"),
        (
            "tbx",
            "broken.tbx",
            "<tbx>\n<text><body><conceptEntry></body></text></tbx>\n".into(),
            "2:27: broken XML: ill-formed document: expected `</conceptEntry>`, but `</body>` was found",
        ),
        (
            "tbx",
            "open.tbx",
            "<?xml version=\"1.0\"?>\n<tbx>\n  <text>\n".into(),
            "3:3: broken XML: `<text>` is never closed",
        ),
        ("tbx", "html.tbx", "<html/>".into(), "1:1: not a TBX file: the root element is `html`, not `tbx`"),
    ];
    for (format, name, contents, want) in cases {
        let file = write(dir.path(), name, contents);
        assert_eq!(
            run(&["glossary", "import", &file, "--from", format]),
            (2, String::new(), format!("tarjim: {file}:{want}\n")),
            "{format} {name}"
        );
    }
}

/// The glossary after each `add`, with the entries in order.
fn glossary(rows: &[&str]) -> String {
    format!("# user names\n{HEADER}{}", rows.iter().map(|r| format!("{r}\n")).collect::<String>())
}

#[test]
fn glossary_add_keeps_the_file_sorted_and_refuses_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("user.tsv");
    let file = write(dir.path(), "user.tsv", glossary(&["صنعاء\tSanaa\tplace\t\t"]));
    let add = |args: &[&str]| {
        let mut all = vec!["glossary", "add", &file];
        all.extend_from_slice(args);
        run(&all)
    };
    assert_eq!(
        add(&[
            "--arabic",
            "حماس",
            "--english",
            "Hamas",
            "--kind",
            "org",
            "--variants",
            "حركة حماس|حماس",
            "--note",
            "Gaza"
        ]),
        (
            0,
            String::new(),
            format!(
                "tarjim: warning: {file}:3: variant `حماس` folds to the term itself (ignored)\n\
                 tarjim: {file}:3: added `حماس` → `Hamas`\n"
            )
        )
    );
    assert_eq!(
        add(&["--arabic", "  يمن ", "--english", "Yemen", "--kind", "place"]),
        (0, String::new(), format!("tarjim: {file}:5: added `يمن` → `Yemen`\n"))
    );
    let want = glossary(&["حماس\tHamas\torg\tحركة حماس\tGaza", "صنعاء\tSanaa\tplace\t\t", "يمن\tYemen\tplace\t\t"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);

    // The same entry again changes nothing.
    assert_eq!(
        add(&["--arabic", "حماس", "--english", "Hamas", "--kind", "org", "--variants", "حركة حماس", "--note", "Gaza"]),
        (0, String::new(), format!("tarjim: {file}:3: the entry is already there; nothing to do\n"))
    );
    // A form of an existing entry is refused, naming its line.
    assert_eq!(
        add(&["--arabic", "حركة حماس", "--english", "Hamas Movement", "--kind", "org"]),
        (
            1,
            String::new(),
            format!("tarjim: {file}:3: `حركة حماس` is already rendered `Hamas` there, not `Hamas Movement`\n")
        )
    );
    assert_eq!(
        add(&["--arabic", "حماس", "--english", "Hamas", "--kind", "org"]),
        (
            1,
            String::new(),
            format!("tarjim: {file}:3: `حماس` is already a form of `حماس` there; edit that line instead\n")
        )
    );
    assert_eq!(
        add(&["--arabic", "Hamas", "--english", "Hamas", "--kind", "org"]),
        (2, String::new(), "tarjim: new entry: Arabic term `Hamas` has no Arabic letter\n".to_string())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    assert_eq!(listing(dir.path()), vec!["user.tsv"], "no temporary file is left behind");

    // A new file starts with the header; a malformed one is left alone.
    let new = dir.path().join("new.tsv").display().to_string();
    assert_eq!(
        run(&["glossary", "add", &new, "--arabic", "غزة", "--english", "Gaza", "--kind", "place"]),
        (0, String::new(), format!("tarjim: {new}:2: added `غزة` → `Gaza`\n"))
    );
    assert_eq!(std::fs::read_to_string(&new).unwrap(), format!("{HEADER}غزة\tGaza\tplace\t\t\n"));
    let bad = write(dir.path(), "bad.tsv", format!("{HEADER}حماس\tHamas\torg\n"));
    assert_eq!(
        run(&["glossary", "add", &bad, "--arabic", "غزة", "--english", "Gaza", "--kind", "place"]),
        (
            2,
            String::new(),
            format!(
                "tarjim: {bad}:2:15: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 3\n"
            )
        )
    );
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), format!("{HEADER}حماس\tHamas\torg\n"));
}

#[test]
fn glossary_sense_columns_round_trip_through_csv_and_tbx() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "g.tsv", SENSES);
    let (code, stdout, stderr) = run(&["glossary", "export", &file, "--to", "csv"]);
    assert_eq!(
        stdout,
        "arabic,english,kind,variants,note,short,ambiguous,confirm,refute\n\
         الجزيرة,Al Jazeera,org,قناة الجزيرة,Qatar,,الجزيرة,قناة ~|~ الإخبارية,شبه ~\n\
         دونالد ترامب,Donald Trump,person,,,ترامب=Trump|دونالد=Donald,,,\n"
    );
    assert_eq!((code, stderr.as_str()), (0, ""));
    for format in ["csv", "tbx"] {
        let exported = dir.path().join(format!("g.{format}")).display().to_string();
        let back = dir.path().join(format!("{format}.tsv")).display().to_string();
        assert_eq!(
            run(&["glossary", "export", &file, "--to", format, "-o", &exported]),
            (0, String::new(), String::new())
        );
        assert_eq!(
            run(&["glossary", "import", &exported, "--from", format, "-o", &back]),
            (0, String::new(), String::new())
        );
        assert_eq!(std::fs::read_to_string(&back).unwrap(), SENSES, "{format}");
    }
    let tbx = std::fs::read_to_string(dir.path().join("g.tbx")).unwrap();
    assert!(tbx.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?tarjim columns=\"9\"?>\n"), "{tbx}");
    assert!(
        tbx.contains(concat!(
            "        <note>Qatar</note>\n",
            "        <note>confirm: قناة ~</note>\n",
            "        <note>confirm: ~ الإخبارية</note>\n",
            "        <note>refute: شبه ~</note>\n",
            "        <langSec xml:lang=\"ar\">\n",
            "          <termSec>\n",
            "            <term>الجزيرة</term>\n",
            "            <termNote type=\"administrativeStatus\">preferredTerm-admn-sts</termNote>\n",
            "            <termNote type=\"usageNote\">ambiguous</termNote>\n",
            "          </termSec>\n",
        )),
        "{tbx}"
    );

    // Short forms pair in order: a TBX with an English one missing is refused.
    let unpaired = tbx.replacen(
        "            <term>Donald</term>\n            <termNote type=\"termType\">shortForm</termNote>\n",
        "            <term>Donald</term>\n",
        1,
    );
    assert_ne!(unpaired, tbx);
    let unpaired = write(dir.path(), "unpaired.tbx", unpaired);
    assert_eq!(
        run(&["glossary", "import", &unpaired, "--from", "tbx"]),
        (
            2,
            String::new(),
            format!(
                "tarjim: {unpaired}:36:7: the entry has 2 Arabic and 1 English short forms (termType shortForm); \
                 they pair in order\n"
            )
        )
    );
}

#[test]
fn glossary_deepl_export_writes_short_forms_and_leaves_ambiguous_forms_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "g.tsv", SENSES);
    assert_eq!(
        run(&["glossary", "export", &file, "--to", "deepl"]),
        (
            0,
            "قناة الجزيرة,Al Jazeera\nدونالد ترامب,Donald Trump\nترامب,Trump\nدونالد,Donald\n".to_string(),
            "tarjim: warning: deepl: kind and note columns are not representable; 2 entries affected\n\
             tarjim: warning: deepl: variants become rows of their own and are read back as entries of their own; \
             1 entries affected\n\
             tarjim: warning: deepl: short forms become rows of their own with their own rendering and are read back \
             as entries of their own; 1 entries affected\n\
             tarjim: warning: deepl: ambiguous forms are left out, as the rendering would be forced wherever the \
             common word appears: `الجزيرة`; 1 entries affected\n\
             tarjim: warning: deepl: context cues (confirm, refute) are not representable; 1 entries affected\n"
                .to_string()
        )
    );
}

#[test]
fn glossary_add_sense_columns_upgrade_a_basic_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.tsv");
    let file = write(dir.path(), "user.tsv", glossary(&["صنعاء\tSanaa\tplace\t\t"]));
    let add = |args: &[&str]| {
        let mut all = vec!["glossary", "add", &file];
        all.extend_from_slice(args);
        run(&all)
    };
    let trump = [
        "--arabic",
        "دونالد ترامب",
        "--english",
        "Donald Trump",
        "--kind",
        "person",
        "--short",
        "ترامب=Trump",
        "--short",
        "دونالد=Donald",
        "--ambiguous",
        "دونالد",
        "--confirm",
        "الرئيس ~|البيت الأبيض",
        "--refute",
        "~ البطة",
    ];
    assert_eq!(
        add(&trump),
        (
            0,
            String::new(),
            format!(
                "tarjim: {file}: added the sense columns short, ambiguous, confirm and refute to the header \
                 and empty cells for them to every row\n\
                 tarjim: {file}:3: added `دونالد ترامب` → `Donald Trump`\n"
            )
        )
    );
    let trump_row =
        "دونالد ترامب\tDonald Trump\tperson\t\t\tترامب=Trump|دونالد=Donald\tدونالد\tالرئيس ~|البيت الأبيض\t~ البطة";
    let want = format!("# user names\n{HEADER_SENSES}{trump_row}\nصنعاء\tSanaa\tplace\t\t\t\t\t\t\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    assert_eq!(
        add(&trump),
        (0, String::new(), format!("tarjim: {file}:3: the entry is already there; nothing to do\n"))
    );

    // A file with the sense columns gets rows with them.
    assert_eq!(
        add(&["--arabic", "غزة", "--english", "Gaza", "--kind", "place"]),
        (0, String::new(), format!("tarjim: {file}:5: added `غزة` → `Gaza`\n"))
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{want}غزة\tGaza\tplace\t\t\t\t\t\t\n"));
    assert_eq!(
        add(&["--arabic", "حماس", "--english", "Hamas", "--kind", "org", "--confirm", "Hamas ~"]),
        (2, String::new(), "tarjim: new entry: cue `Hamas ~`: `Hamas` is not an Arabic word\n".to_string())
    );
    assert_eq!(listing(dir.path()), vec!["user.tsv"]);
}

/// Runs `tarjim glossary add FILE --arabic ARABIC --english ENGLISH --kind place`.
fn add_place(file: &str, arabic: &str, english: &str) -> (i32, String, String) {
    run(&["glossary", "add", file, "--arabic", arabic, "--english", english, "--kind", "place"])
}

#[cfg(unix)]
#[test]
fn glossary_add_through_a_symlink_updates_the_target_and_leaves_the_link_a_link() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let real = write(dir.path(), "real.tsv", glossary(&["صنعاء\tSanaa\tplace\t\t"]));
    std::fs::create_dir(dir.path().join("links")).unwrap();
    let link = dir.path().join("links").join("user.tsv");
    symlink("../real.tsv", &link).unwrap();
    let name = link.display().to_string();
    assert_eq!(
        add_place(&name, "غزة", "Gaza"),
        (0, String::new(), format!("tarjim: {name}:4: added `غزة` → `Gaza`\n"))
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), glossary(&["صنعاء\tSanaa\tplace\t\t", "غزة\tGaza\tplace\t\t"]));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../real.tsv"));
    assert_eq!(listing(dir.path()), vec!["links", "real.tsv"], "the temporary file went beside the real file");
    assert_eq!(listing(&dir.path().join("links")), vec!["user.tsv"]);

    // A dangling link: the file it points to is created.
    let dangling = dir.path().join("links").join("new.tsv");
    symlink("../new.tsv", &dangling).unwrap();
    let name = dangling.display().to_string();
    assert_eq!(
        add_place(&name, "غزة", "Gaza"),
        (0, String::new(), format!("tarjim: {name}:2: added `غزة` → `Gaza`\n"))
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("new.tsv")).unwrap(), format!("{HEADER}غزة\tGaza\tplace\t\t\n"));
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());

    // `-o` writes through a link as well.
    write(dir.path(), "out.csv", "old");
    let out = dir.path().join("out-link.csv");
    symlink("out.csv", &out).unwrap();
    assert_eq!(
        run(&["glossary", "export", &real, "--to", "csv", "-o", &out.display().to_string()]),
        (0, String::new(), String::new())
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "arabic,english,kind,variants,note\nصنعاء,Sanaa,place,,\nغزة,Gaza,place,,\n"
    );
    assert!(std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Sets the permission bits of `path`.
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn glossary_add_keeps_the_file_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.tsv");
    let file = write(dir.path(), "user.tsv", glossary(&["صنعاء\tSanaa\tplace\t\t"]));
    set_mode(&path, 0o640);
    assert_eq!(
        add_place(&file, "غزة", "Gaza"),
        (0, String::new(), format!("tarjim: {file}:4: added `غزة` → `Gaza`\n"))
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), glossary(&["صنعاء\tSanaa\tplace\t\t", "غزة\tGaza\tplace\t\t"]));
    assert_eq!(mode(&path), 0o640);
}

#[cfg(unix)]
#[test]
fn glossary_add_refuses_a_read_only_file_and_leaves_it_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.tsv");
    let before = glossary(&["صنعاء\tSanaa\tplace\t\t"]);
    let file = write(dir.path(), "user.tsv", &before);
    set_mode(&path, 0o444);
    // Refused on the mode even where the process could write it (as root).
    assert_eq!(
        add_place(&file, "غزة", "Gaza"),
        (2, String::new(), format!("tarjim: {file}: cannot write: the file is read-only (mode 0444)\n"))
    );
    // Through a link, too; an entry already there makes no difference.
    let link = dir.path().join("link.tsv");
    std::os::unix::fs::symlink("user.tsv", &link).unwrap();
    let name = link.display().to_string();
    assert_eq!(
        add_place(&name, "صنعاء", "Sanaa"),
        (2, String::new(), format!("tarjim: {name}: cannot write: the file is read-only (mode 0444)\n"))
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(mode(&path), 0o444);
    assert_eq!(listing(dir.path()), vec!["link.tsv", "user.tsv"]);
}

#[test]
fn concurrent_glossary_adds_keep_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    // The file does not exist yet: the first adds race to create it.
    let path = dir.path().join("user.tsv");
    let places = [
        ("بغداد", "Baghdad"),
        ("دمشق", "Damascus"),
        ("بيروت", "Beirut"),
        ("عمان", "Amman"),
        ("القاهرة", "Cairo"),
        ("الرياض", "Riyadh"),
        ("صنعاء", "Sanaa"),
        ("الدوحة", "Doha"),
        ("تونس", "Tunis"),
        ("الرباط", "Rabat"),
        ("الجزائر", "Algiers"),
        ("طرابلس", "Tripoli"),
    ];
    let children: Vec<_> = places
        .iter()
        .map(|(arabic, english)| {
            std::process::Command::new(env!("CARGO_BIN_EXE_tarjim"))
                .args(["glossary", "add"])
                .arg(&path)
                .args(["--arabic", arabic, "--english", english, "--kind", "place"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (child, (arabic, english)) in children.into_iter().zip(places) {
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.ends_with(&format!(": added `{arabic}` → `{english}`\n")), "{stderr}");
    }
    let mut rows: Vec<String> =
        places.iter().map(|(arabic, english)| format!("{arabic}\t{english}\tplace\t\t\n")).collect();
    rows.sort();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{HEADER}{}", rows.concat()));
    assert_eq!(listing(dir.path()), vec!["user.tsv"]);
}
