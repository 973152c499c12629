//! The glossary layer: the built-in list stays canonical, constrained search
//! places every term, and the command line enforces and reports terms.

use std::collections::HashSet;

use candle_core::Device;
use tarjim::decoding::{Constraint, GenerationConfig, generate, generate_constrained};
use tarjim::glossary::normalize::fold_str;
use tarjim::glossary::{BUILTIN, Glossary, Kind, parse};
use tarjim::model::load_model;
use tarjim::tokenizer::MarianTokenizer;
use tarjim::translate::{GlossaryMode, Terms};

use crate::util::repo;

/// The decoding-time core stays apart: no file of `src/glossary/` reaches the
/// model, the aligner or the maintenance tools (outside comments).
#[test]
fn glossary_core_uses_neither_model_nor_align_nor_tools() {
    let dir = repo("src/glossary");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("src/glossary").map(|e| e.expect("entry").path()).collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("matcher.rs")), "{files:?}");
    let banned = ["model", "align", "glossary_tools"].map(|m| format!("crate::{m}"));
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for path in &banned {
                assert!(!code.contains(path.as_str()), "{}:{}: uses {path}", file.display(), number + 1);
            }
        }
    }
}

#[test]
fn builtin_glossary_is_canonical() {
    let (entries, warnings) = parse::parse(BUILTIN.as_bytes(), "builtin.tsv").expect("built-in glossary parses");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(entries.len() >= 300, "only {} entries", entries.len());
    let arabic: Vec<&str> = entries.iter().map(|e| e.arabic.as_str()).collect();
    let mut sorted = arabic.clone();
    sorted.sort();
    assert_eq!(arabic, sorted, "glossaries/builtin.tsv must stay sorted by its arabic column");
    let mut seen = HashSet::new();
    for entry in &entries {
        for form in entry.forms() {
            assert!(seen.insert(fold_str(form)), "{}: `{form}` folds like another term or variant", entry.origin);
        }
        assert_eq!(entry.english.trim(), entry.english);
        assert!(!entry.english.contains("  "), "{}", entry.origin);
    }
    for kind in [Kind::Org, Kind::Person, Kind::Place] {
        assert!(entries.iter().filter(|e| e.kind == kind).count() >= 50, "too few {kind} entries");
    }
    let (glossary, _) = Glossary::builtin().unwrap();
    for (arabic, english) in [
        ("كتائب حزب الله", "Kataib Hezbollah"),
        ("هيئة تحرير الشام", "Hayat Tahrir al-Sham"),
        ("محمد شياع السوداني", "Mohammed Shia al-Sudani"),
        ("حركة النجباء", "Harakat al-Nujaba"),
        ("فاطميون", "Fatemiyoun"),
        ("حكومة الإنقاذ السورية", "Syrian Salvation Government"),
        ("مسعود بازشكيان", "Masoud Pezeshkian"),
    ] {
        assert_eq!(glossary.lookup(arabic).map(|e| e.english.as_str()), Some(english), "{arabic}");
    }
}

/// Whether `needle` occurs contiguously in `hay`.
fn contains(hay: &[u32], needle: &[u32]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn constrained_search_places_every_term_in_batches() {
    let dir = repo("tests/fixtures/tiny");
    let (model, model_cfg) = load_model(&dir, &Device::Cpu).unwrap();
    let cfg = GenerationConfig::from_model_dir(&dir, &model_cfg).unwrap();
    let tok = MarianTokenizer::from_dir(&dir).unwrap();
    let sources: Vec<Vec<u32>> = [
        "قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة للاقتصاد الأسبوع المقبل.",
        "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.",
        "عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.",
        "سوريا",
    ]
    .iter()
    .map(|s| tok.encode(s).ids)
    .collect();
    let term = |text: &str| tok.encode_target(text).unwrap_or_else(|| panic!("`{text}` is writable"));
    let one = |text: &str| Constraint { alternatives: vec![term(text)], sentence_start: vec![] };
    let constraints = vec![
        vec![one("the market"), one("oil")],
        vec![],
        vec![one("security"), one("meeting"), one("region")],
        vec![one("Syria"), one("oil"), one("the market"), one("security"), one("region"), one("meeting")],
    ];
    let batch = generate_constrained(&model, &sources, &constraints, &cfg).unwrap();
    for (i, (hyp, cs)) in batch.iter().zip(&constraints).enumerate() {
        assert!(hyp.met.iter().all(|&m| m), "source {i}: {:?} misses a term", tok.decode(&hyp.tokens));
        for c in cs {
            assert!(contains(&hyp.tokens, &c.alternatives[0]), "source {i}: {}", tok.decode(&hyp.tokens));
        }
        assert_eq!(hyp.tokens.last(), Some(&tok.eos_id()), "source {i} ends with </s>");
        // Batching changes nothing: each source alone gives the same output.
        let single = generate_constrained(&model, &sources[i..=i], &constraints[i..=i], &cfg).unwrap();
        assert_eq!(single[0].tokens, hyp.tokens, "source {i}: batch vs alone");
    }
    // Without constraints the search is plain beam search's equal in quality: its
    // output scores at least as well as beam search under the same beams.
    let plain = generate(&model, &sources[1..2], &cfg).unwrap();
    assert!(batch[1].score >= plain[0].score - 1e-4, "{} vs {}", batch[1].score, plain[0].score);
}

#[test]
fn unplaceable_constraints_are_refused() {
    let dir = repo("tests/fixtures/tiny");
    let (model, model_cfg) = load_model(&dir, &Device::Cpu).unwrap();
    let cfg = GenerationConfig::from_model_dir(&dir, &model_cfg).unwrap();
    let err = generate_constrained(
        &model,
        &[vec![5, 0]],
        &[vec![Constraint { alternatives: vec![vec![]], sentence_start: vec![] }]],
        &cfg,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "invalid generation settings: a constraint has no tokens");
    let err = generate_constrained(&model, &[vec![5, 0]], &[], &cfg).unwrap_err().to_string();
    assert_eq!(err, "invalid generation settings: 1 sources but 0 constraint lists");
}

#[test]
fn every_term_of_the_term_set_is_found_and_enforced() {
    let (glossary, _) = Glossary::builtin().unwrap();
    let decide = Terms::new(glossary.clone(), GlossaryMode::Report);
    let set = std::fs::read_to_string(repo("tests/data/terms.tsv")).unwrap();
    let mut lines = set.lines();
    assert_eq!(lines.next(), Some("sentence\tterms"));
    let (mut rows, mut expected_terms, mut wrong) = (0, 0, Vec::new());
    for (i, line) in lines.enumerate() {
        let (sentence, terms) = line.split_once('\t').unwrap_or_else(|| panic!("line {}: no tab", i + 2));
        let want: Vec<&str> = terms.split('|').collect();
        for term in &want {
            assert!(
                glossary.lookup(term).is_some_and(|e| e.arabic == *term),
                "line {}: `{term}` is no glossary term",
                i + 2
            );
        }
        // Each row is a document of its own; every name it lists must be
        // enforced, none skipped.
        let (uses, skipped) = decide.find(&[sentence]).remove(0);
        let got: Vec<&str> = uses.iter().map(|u| u.term.as_str()).collect();
        let skipped: Vec<(&str, &str)> = skipped.iter().map(|s| (s.term.as_str(), s.why.as_str())).collect();
        rows += 1;
        expected_terms += want.len();
        if got != want || !skipped.is_empty() {
            wrong.push(format!("line {}: {sentence}\n  want {want:?}\n  got  {got:?}\n  skipped {skipped:?}", i + 2));
        }
    }
    assert!(rows >= 150 && expected_terms >= 300, "{rows} rows, {expected_terms} terms");
    assert!(wrong.is_empty(), "{} of {rows} rows differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// Every document of the labelled context set (`tests/data/senses.tsv`) gets
/// exactly its labels, in text order. A label gives the meaning and the
/// decision: `FORM=English` a name enforced, `FORM!why` a common word skipped
/// (`unconfirmed` or `refuted`), `FORM?why` a name skipped (a miss), and
/// `FORM^English` a common word enforced (a false name).
#[test]
fn labelled_contexts_are_enforced_and_skipped_exactly() {
    let (glossary, _) = Glossary::builtin().unwrap();
    let terms = Terms::new(glossary, GlossaryMode::Report);
    let set = std::fs::read_to_string(repo("tests/data/senses.tsv")).unwrap();
    let mut lines = set.lines().enumerate().filter(|(_, l)| !l.starts_with('#'));
    assert_eq!(lines.next().map(|(_, l)| l), Some("document\tsentence\tmentions"));
    // Per document in order: its id, and (file line, sentence, labels) per row.
    type Row<'a> = (usize, &'a str, &'a str);
    let mut documents: Vec<(String, Vec<Row>)> = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3, "line {}: three tab-separated fields", i + 1);
        match documents.last_mut() {
            Some((id, rows)) if id == fields[0] => rows.push((i + 1, fields[1], fields[2])),
            _ => documents.push((fields[0].to_string(), vec![(i + 1, fields[1], fields[2])])),
        }
    }
    let (mut sentences, mut enforced, mut skipped, mut wrong) = (0, 0, 0, Vec::new());
    let (mut missed, mut false_names) = (0, 0);
    for (id, rows) in &documents {
        let texts: Vec<&str> = rows.iter().map(|r| r.1).collect();
        for ((number, sentence, want), (uses, skips)) in rows.iter().zip(terms.find(&texts)) {
            sentences += 1;
            let text = |span: &std::ops::Range<usize>| -> String {
                sentence.chars().skip(span.start).take(span.len()).collect()
            };
            let mut got: Vec<(usize, String)> =
                uses.iter().map(|u| (u.source_span.start, format!("{}={}", text(&u.source_span), u.english))).collect();
            got.extend(skips.iter().map(|s| {
                let why = if s.why.starts_with("refuted") { "refuted" } else { "unconfirmed" };
                (s.source_span.start, format!("{}!{why}", text(&s.source_span)))
            }));
            got.sort();
            let got: Vec<String> = got.into_iter().map(|(_, label)| label).collect();
            let want: Vec<&str> = want.split('|').filter(|l| !l.is_empty()).collect();
            enforced += want.iter().filter(|l| l.contains('=')).count();
            skipped += want.iter().filter(|l| l.contains('!')).count();
            missed += want.iter().filter(|l| l.contains('?')).count();
            false_names += want.iter().filter(|l| l.contains('^')).count();
            let want: Vec<String> = want.iter().map(|l| l.replacen('?', "!", 1).replacen('^', "=", 1)).collect();
            if got != want {
                wrong.push(format!("line {number} ({id}): {sentence}\n  want {want:?}\n  got  {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {sentences} sentences differ:\n{}", wrong.len(), wrong.join("\n"));
    println!(
        "{sentences} sentences: {enforced} names enforced, {skipped} common words skipped, {missed} names \
         skipped, {false_names} common words enforced"
    );
    assert!(sentences >= 150 && enforced >= 100 && skipped >= 50);
}
