//! Decoding an XLIFF file and locating the targets to fill.

use std::ops::Range;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceResolver, PrefixDeclaration, ResolveResult};

use super::XliffError;

/// XLIFF versions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// XLIFF 1.2 (`<trans-unit>`, target `state` attributes).
    V1_2,
    /// XLIFF 2.0, 2.1 and 2.2 (`<unit>`/`<segment>`; the core is the same).
    V2,
}

impl Version {
    /// The namespace of its elements.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V1_2 => "urn:oasis:names:tc:xliff:document:1.2",
            // 2.1 and 2.2 keep the 2.0 core namespace.
            Self::V2 => "urn:oasis:names:tc:xliff:document:2.0",
        }
    }
}

/// Whether an element resolved to `namespace` is an XLIFF element of
/// `version`: in its namespace, or in none (files that declare no namespace).
/// Before the version is known, either XLIFF namespace counts.
pub(super) fn is_xliff(namespace: &ResolveResult, version: Option<Version>) -> bool {
    match namespace {
        ResolveResult::Unbound => true,
        ResolveResult::Bound(ns) => match version {
            Some(version) => ns.0 == version.namespace(),
            None => [Version::V1_2, Version::V2].iter().any(|v| ns.0 == v.namespace()),
        },
        ResolveResult::Unknown(_) => false,
    }
}

/// The namespace bindings in scope at a source's content: they tell its XLIFF
/// inline elements from others, whatever prefix the file gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// `(prefix, namespace)`; the prefix is empty for the default namespace.
    pub bindings: Vec<(String, String)>,
}

impl Scope {
    fn of(resolver: &NamespaceResolver) -> Self {
        let bindings = resolver
            .bindings()
            .map(|(prefix, ns)| {
                let prefix = match prefix {
                    PrefixDeclaration::Default => String::new(),
                    PrefixDeclaration::Named(prefix) => prefix.to_owned(),
                };
                (prefix, ns.0.to_owned())
            })
            .collect();
        Self { bindings }
    }

    /// A reader of `content` with these bindings in scope.
    pub(super) fn reader<'c>(&self, content: &'c str) -> NsReader<&'c [u8]> {
        let mut reader = NsReader::from_str(content);
        for (prefix, ns) in &self.bindings {
            let declaration =
                if prefix.is_empty() { PrefixDeclaration::Default } else { PrefixDeclaration::Named(prefix) };
            // The bindings were read from a document that declared them: they are valid.
            let _ = reader.resolver_mut().add(declaration, quick_xml::name::Namespace(ns));
        }
        reader
    }
}

/// How the file's bytes encode its text; the output is written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8 {
        /// Whether the file starts with a byte-order mark.
        bom: bool,
    },
    /// UTF-16 with a byte-order mark.
    Utf16 {
        /// Big-endian (`FE FF`) rather than little-endian (`FF FE`).
        big_endian: bool,
    },
}

/// Where a segment's target is, or goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAt {
    /// An empty element `<target …/>`: its byte range.
    Empty(Range<usize>),
    /// `<target …>` with only whitespace before `</target>`.
    Open {
        /// The start tag.
        start_tag: Range<usize>,
        /// What is between the tags.
        content: Range<usize>,
    },
    /// No target: one is inserted at `at`, after `indent` (the line break and
    /// indentation of the source, when it starts a line).
    Missing {
        /// Byte offset (right after the source, or the 1.2 `<seg-source>`).
        at: usize,
        /// Line break and indentation to put before the new target.
        indent: Option<String>,
    },
    /// 1.2 segmented unit whose `<target>` is written whole ([`Segmented::Whole`]):
    /// the translation goes into the copy of the segment's `<mrk>`.
    Composed,
}

/// How the targets of a segmented 1.2 unit (a `<seg-source>` with
/// `<mrk mtype="seg">`s) are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segmented {
    /// The `<target>` is missing or holds only whitespace: it is written whole,
    /// a copy of the seg-source's content (`template`) where each segment's
    /// `<mrk>` holds its translation.
    Whole {
        /// Where the target is, or goes.
        target: TargetAt,
        /// Byte range of the `<seg-source>`'s content.
        template: Range<usize>,
    },
    /// The `<target>` has `<mrk mtype="seg">`s: the empty ones are the segments'
    /// targets ([`TargetAt::Empty`] or [`TargetAt::Open`]); the target's start
    /// tag gets the state.
    Marks {
        /// The `<target>` start tag.
        start_tag: Range<usize>,
    },
}

/// A segment to fill: its source and where its target goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The 2.x segment's `id`, or the 1.2 segment's `mid`, when it has one.
    pub id: Option<String>,
    /// Byte range of the source's content (between `<source>` and `</source>`;
    /// in a segmented 1.2 unit, the content of the seg-source's `<mrk>`).
    pub source: Range<usize>,
    /// The namespace bindings in scope at the source's content.
    pub scope: Scope,
    /// The target.
    pub target: TargetAt,
    /// 2.x: the `<segment>` start tag, which gets the state.
    pub segment_tag: Option<Range<usize>>,
}

/// Where the notes of a unit go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesAt {
    /// 1.2: after the target (its end, or where a new one is inserted), on a
    /// line of its own when `indent` is given.
    AfterTarget {
        /// Byte offset.
        at: usize,
        /// Line break and indentation.
        indent: Option<String>,
    },
    /// 2.x: into the unit's `<notes>`, before its end tag at this offset.
    Inside(usize),
    /// 2.x: a new `<notes>` before the unit's first `<originalData>`,
    /// `<segment>` or `<ignorable>`, at this offset, followed by `indent`.
    New {
        /// Byte offset.
        at: usize,
        /// Line break and indentation to put after the new element.
        indent: Option<String>,
    },
}

/// A translation unit with segments to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Its `id`.
    pub id: String,
    /// Line of its start tag.
    pub line: usize,
    /// Its segments to fill (one for 1.2), in document order.
    pub segments: Vec<Segment>,
    /// Where its notes go.
    pub notes: NotesAt,
    /// 1.2 segmented units: how the targets are written.
    pub segmented: Option<Segmented>,
    /// The prefix of the unit's name with its colon (`xlf:` for
    /// `<xlf:trans-unit>`, empty for none): elements written into it get it.
    pub prefix: String,
}

/// A decoded XLIFF file and what to fill in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file's text (decoded; without a byte-order mark).
    pub text: String,
    /// Its encoding.
    pub encoding: Encoding,
    /// Its XLIFF version.
    pub version: Version,
    /// 2.x without `trgLang`: the end of the name of the `<xliff>` start tag,
    /// where ` trgLang="en"` goes when a target is written.
    pub trg_lang_at: Option<usize>,
    /// Units with segments to fill.
    pub units: Vec<Unit>,
    /// Units (1.2) or segments (2.x) left alone because they are translated.
    pub translated: usize,
    /// Units or segments left alone because they are locked, final, approved or
    /// `translate="no"`.
    pub locked: usize,
}

/// Decodes `bytes` to text: UTF-8 (a byte-order mark is kept aside), or UTF-16
/// with a byte-order mark.
fn decode(bytes: &[u8]) -> Result<(String, Encoding), XliffError> {
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (utf8(rest)?, Encoding::Utf8 { bom: true })
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (utf16(rest, false)?, Encoding::Utf16 { big_endian: false })
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (utf16(rest, true)?, Encoding::Utf16 { big_endian: true })
    } else if bytes.starts_with(&[0, b'<']) || bytes.starts_with(&[b'<', 0]) {
        return Err(XliffError::Unsupported(
            "UTF-16 without a byte-order mark is not supported; add the mark or convert the file to UTF-8".into(),
        ));
    } else {
        (utf8(bytes)?, Encoding::Utf8 { bom: false })
    };
    if let Some(declared) = declared_encoding(&text) {
        let name = declared.to_ascii_lowercase();
        let fits = match encoding {
            Encoding::Utf8 { .. } => name == "utf-8" || name == "utf8",
            Encoding::Utf16 { .. } => name.starts_with("utf-16") || name.starts_with("utf16"),
        };
        if !fits {
            return Err(XliffError::Unsupported(format!(
                "the file declares encoding=\"{declared}\": tarjim reads UTF-8 and UTF-16 (with a byte-order mark); \
                 convert it to UTF-8 (e.g. iconv -f {declared} -t UTF-8) and change the declaration"
            )));
        }
    }
    Ok((text, encoding))
}

fn utf8(bytes: &[u8]) -> Result<String, XliffError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(err) => {
            let (line, column) = crate::text::utf8_error_position(bytes, &err);
            Err(XliffError::Xml { line, column, message: "invalid UTF-8".into() })
        }
    }
}

fn utf16(bytes: &[u8], big_endian: bool) -> Result<String, XliffError> {
    if bytes.len() % 2 == 1 {
        return Err(XliffError::Unsupported("UTF-16 file with an odd number of bytes".into()));
    }
    let units = bytes.chunks_exact(2).map(|p| {
        let pair = [p[0], p[1]];
        if big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) }
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                let (line, column) = crate::text::line_column(&text, text.len());
                return Err(XliffError::Xml { line, column, message: "invalid UTF-16 (unpaired surrogate)".into() });
            }
        }
    }
    Ok(text)
}

/// The `encoding` of the XML declaration, when there is one.
fn declared_encoding(text: &str) -> Option<&str> {
    let declaration = &text[..text.find("?>")?];
    if !declaration.starts_with("<?xml") {
        return None;
    }
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

/// The line break and indentation before byte `at` when only whitespace
/// precedes it on its line.
pub(super) fn indent_before(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n')?;
    let indent = &text[line_start + 1..at];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let start = if text[..line_start].ends_with('\r') { line_start - 1 } else { line_start };
    Some(text[start..at].to_owned())
}

/// An open element during the walk.
struct Frame {
    /// Qualified name, as written.
    name: String,
    /// Whether it is an XLIFF element (by its namespace).
    xliff: bool,
    /// Its local name.
    local: String,
    /// Byte offset of its start tag.
    start: usize,
    /// Byte offset right after its start tag.
    tag_end: usize,
    /// Whether its content is to be translated (`translate`, inherited).
    translate: bool,
    /// Whether it is a 1.2 segment `<mrk mtype="seg">` of the unit's
    /// seg-source or target.
    mark: bool,
}

/// A unit being read.
struct UnitBuild {
    id: String,
    prefix: String,
    line: usize,
    /// Depth of its frame in the stack.
    depth: usize,
    translate: bool,
    approved: bool,
    notes_end: Option<usize>,
    first_body: Option<usize>,
    segments: Vec<SegmentBuild>,
}

/// A 1.2 unit or 2.x segment being read.
#[derive(Default)]
struct SegmentBuild {
    id: Option<String>,
    tag: Option<Range<usize>>,
    state: Option<String>,
    /// Start of `<source>`, its content, and the end of the element.
    source: Option<(usize, Range<usize>, usize)>,
    /// The bindings in scope at the source's content.
    scope: Scope,
    /// Content and end of `<seg-source>` (1.2).
    seg_source: Option<(Range<usize>, usize)>,
    target: Option<TargetBuild>,
    /// 1.2 `<mrk mtype="seg">`s of the seg-source.
    source_marks: Vec<Mark>,
    /// 1.2 `<mrk mtype="seg">`s of the target.
    target_marks: Vec<Mark>,
}

/// A 1.2 segment `<mrk mtype="seg">` as read.
struct Mark {
    mid: String,
    /// The bindings in scope at its content.
    scope: Scope,
    /// The whole element.
    element: Range<usize>,
    start_tag: Range<usize>,
    /// What is between the tags (`None` for `<mrk …/>`).
    content: Option<Range<usize>>,
}

/// A target as read.
struct TargetBuild {
    start: usize,
    start_tag: Range<usize>,
    content: Option<Range<usize>>,
    end: usize,
    state: Option<String>,
}

/// The walk over a document.
struct Walk<'t> {
    text: &'t str,
    version: Option<Version>,
    stack: Vec<Frame>,
    unit: Option<UnitBuild>,
    units: Vec<Unit>,
    trg_lang_at: Option<usize>,
    translated: usize,
    locked: usize,
    seen_root: bool,
}

/// Attributes of a start tag, unescaped; a malformed or repeated one is an error at `at`.
fn attributes(text: &str, element: &BytesStart, at: usize) -> Result<Vec<(String, String)>, XliffError> {
    let mut out = Vec::new();
    for attribute in element.attributes().with_checks(true) {
        let attribute = attribute.map_err(|e| XliffError::at(text, at, format!("broken XML: {e}")))?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XliffError::at(text, at, format!("broken XML: {e}")))?;
        out.push((attribute.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(out)
}

fn get<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The primary subtag of a language tag, lower-cased.
fn primary(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

impl Walk<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> XliffError {
        XliffError::at(self.text, at, message)
    }

    fn parent(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// Whether the innermost open element is the XLIFF element `local`.
    fn parent_is(&self, local: &str) -> bool {
        self.parent().is_some_and(|f| f.xliff && f.local == local)
    }

    fn check_languages(&self, at: usize, source: Option<&str>, target: Option<&str>) -> Result<(), XliffError> {
        if let Some(source) = source.filter(|s| primary(s) != "ar") {
            return Err(self.error(at, format!("the source language is {source}: tarjim translates from Arabic")));
        }
        if let Some(target) = target.filter(|t| primary(t) != "en") {
            return Err(self.error(at, format!("the target language is {target}: tarjim writes English targets")));
        }
        Ok(())
    }

    /// Calls `edit` with the segment marks of the seg-source or the target of
    /// the 1.2 unit being read, when the element about to start (or just ended)
    /// is directly inside one of them, outside any other segment mark. Returns
    /// whether it did.
    fn segment_mark(&mut self, edit: impl FnOnce(&mut Vec<Mark>)) -> bool {
        let Some(unit) = self.unit.as_mut() else { return false };
        let Some(holder) = self.stack.get(unit.depth + 1) else { return false };
        if !holder.xliff || self.stack[unit.depth + 1..].iter().any(|f| f.mark) {
            return false;
        }
        let Some(segment) = unit.segments.last_mut() else { return false };
        match holder.local.as_str() {
            "seg-source" => edit(&mut segment.source_marks),
            "target" => edit(&mut segment.target_marks),
            _ => return false,
        }
        true
    }

    /// An element starts: `range` is its start tag, `empty` for `<x/>`, `xliff`
    /// whether it is in the XLIFF namespace, `resolver` the bindings in scope
    /// in its content.
    fn start(
        &mut self,
        element: &BytesStart,
        range: Range<usize>,
        empty: bool,
        xliff: bool,
        resolver: &NamespaceResolver,
    ) -> Result<(), XliffError> {
        let name = element.name().as_ref().to_owned();
        let local = element.local_name().as_ref().to_owned();
        let at = range.start;
        let attributes = attributes(self.text, element, at)?;
        let inherited = self.parent().is_none_or(|f| f.translate);
        let own = get(&attributes, "translate").map(|v| v != "no");
        let translate = own.unwrap_or(inherited);
        if self.stack.is_empty() {
            if self.seen_root {
                return Err(self.error(at, "broken XML: a second root element"));
            }
            self.seen_root = true;
            if local != "xliff" || !xliff {
                return Err(self.error(at, format!("not an XLIFF file: the root element is <{name}>")));
            }
            let version = get(&attributes, "version").unwrap_or_default();
            self.version = Some(if version == "1.2" {
                Version::V1_2
            } else if version.starts_with("2.") {
                Version::V2
            } else {
                return Err(XliffError::Unsupported(format!(
                    "XLIFF version \"{version}\" is not supported (1.2 and 2.x are)"
                )));
            });
            if self.version == Some(Version::V2) {
                self.check_languages(at, get(&attributes, "srcLang"), get(&attributes, "trgLang"))?;
                if get(&attributes, "trgLang").is_none() {
                    self.trg_lang_at = Some(at + 1 + name.len());
                }
            }
        }
        let v12 = self.version == Some(Version::V1_2);
        if xliff {
            match local.as_str() {
                "file" if v12 => self.check_languages(
                    at,
                    Some(get(&attributes, "source-language").unwrap_or_default()),
                    get(&attributes, "target-language"),
                )?,
                "trans-unit" | "unit" if self.unit.is_none() => {
                    let (line, _) = crate::text::line_column(self.text, at);
                    self.unit = Some(UnitBuild {
                        id: get(&attributes, "id").unwrap_or_default().to_owned(),
                        prefix: name[..name.len() - local.len()].to_owned(),
                        line,
                        depth: self.stack.len(),
                        translate,
                        approved: v12 && get(&attributes, "approved") == Some("yes"),
                        notes_end: None,
                        first_body: None,
                        segments: if v12 { vec![SegmentBuild::default()] } else { Vec::new() },
                    });
                }
                _ => {}
            }
            let depth = self.stack.len();
            if !v12
                && let Some(unit) = self.unit.as_mut().filter(|u| u.depth + 1 == depth)
                && matches!(local.as_str(), "originalData" | "segment" | "ignorable")
            {
                unit.first_body.get_or_insert(at);
                if local == "segment" {
                    unit.segments.push(SegmentBuild {
                        id: get(&attributes, "id").map(str::to_owned),
                        tag: Some(range.clone()),
                        state: get(&attributes, "state").map(str::to_owned),
                        ..SegmentBuild::default()
                    });
                }
            }
            let segment_parent = if v12 { self.parent_is("trans-unit") } else { self.parent_is("segment") };
            if segment_parent && let Some(segment) = self.unit.as_mut().and_then(|u| u.segments.last_mut()) {
                match local.as_str() {
                    "target" => {
                        segment.target = Some(TargetBuild {
                            start: at,
                            start_tag: range.clone(),
                            content: None,
                            end: range.end,
                            state: get(&attributes, "state").map(str::to_owned),
                        });
                    }
                    "source" if empty => segment.source = Some((at, range.end..range.end, range.end)),
                    "source" => segment.scope = Scope::of(resolver),
                    _ => {}
                }
            }
        }
        let mark = v12
            && xliff
            && local == "mrk"
            && get(&attributes, "mtype") == Some("seg")
            && self.segment_mark(|marks| {
                marks.push(Mark {
                    mid: get(&attributes, "mid").unwrap_or_default().to_owned(),
                    scope: Scope::of(resolver),
                    element: range.clone(),
                    start_tag: range.clone(),
                    content: None,
                });
            });
        if !empty {
            self.stack.push(Frame { name, xliff, local, start: at, tag_end: range.end, translate, mark });
        } else if xliff && (local == "trans-unit" || local == "unit") {
            return Err(self.error(at, format!("<{name}/> has no source")));
        }
        Ok(())
    }

    /// The element on top of the stack ends with the end tag at `range`.
    fn end(&mut self, range: Range<usize>) -> Result<(), XliffError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(range.start, "broken XML: an end tag without a start tag"));
        };
        if !frame.xliff {
            return Ok(());
        }
        if frame.mark {
            self.segment_mark(|marks| {
                if let Some(mark) = marks.last_mut() {
                    mark.content = Some(frame.tag_end..range.start);
                    mark.element.end = range.end;
                }
            });
        }
        let v12 = self.version == Some(Version::V1_2);
        let segment_parent = if v12 { self.parent_is("trans-unit") } else { self.parent_is("segment") };
        if segment_parent && let Some(segment) = self.unit.as_mut().and_then(|u| u.segments.last_mut()) {
            match frame.local.as_str() {
                "source" => segment.source = Some((frame.start, frame.tag_end..range.start, range.end)),
                "seg-source" => segment.seg_source = Some((frame.tag_end..range.start, range.end)),
                "target" => {
                    if let Some(target) = segment.target.as_mut() {
                        target.content = Some(frame.tag_end..range.start);
                        target.end = range.end;
                    }
                }
                _ => {}
            }
        }
        let unit_parent = self.unit.as_ref().is_some_and(|u| self.stack.len().checked_sub(1) == Some(u.depth));
        if !v12
            && frame.local == "notes"
            && unit_parent
            && let Some(unit) = self.unit.as_mut()
        {
            unit.notes_end = Some(range.start);
        }
        let depth = self.stack.len();
        if let Some(unit) = self.unit.take_if(|u| u.depth == depth) {
            self.finish_unit(unit, frame.start)?;
        }
        Ok(())
    }

    /// Whether the text of `range` is only whitespace.
    fn blank(&self, range: &Range<usize>) -> bool {
        self.text[range.clone()].trim().is_empty()
    }

    /// Where the target of a segment is, or goes (after `after`, indented as
    /// the element starting at `indent_of`).
    fn target_at(&self, target: Option<TargetBuild>, after: usize, indent_of: usize) -> TargetAt {
        match target {
            Some(target) => match target.content {
                Some(content) => TargetAt::Open { start_tag: target.start_tag, content },
                None => TargetAt::Empty(target.start..target.end),
            },
            None => TargetAt::Missing { at: after, indent: indent_before(self.text, indent_of) },
        }
    }

    /// 1.2: the notes go after the target.
    fn notes_after(&self, target: &TargetAt) -> Option<NotesAt> {
        let (at, indent) = match target {
            TargetAt::Empty(r) => (r.end, indent_before(self.text, r.start)),
            TargetAt::Open { start_tag, content } => {
                let end = content.end + self.text[content.end..].find('>').map_or(0, |i| i + 1);
                (end, indent_before(self.text, start_tag.start))
            }
            TargetAt::Missing { at, indent } => (*at, indent.clone()),
            TargetAt::Composed => return None,
        };
        Some(NotesAt::AfterTarget { at, indent })
    }

    /// Decides which segments of a finished unit to fill.
    fn finish_unit(&mut self, mut unit: UnitBuild, start: usize) -> Result<(), XliffError> {
        let v12 = self.version == Some(Version::V1_2);
        if v12 && unit.segments.first().is_some_and(|s| !s.source_marks.is_empty()) {
            let segment = unit.segments.remove(0);
            return self.finish_segmented(unit, segment, start);
        }
        let mut segments = Vec::new();
        let mut notes = None;
        for segment in unit.segments {
            let Some((source_start, source, source_end)) = segment.source else {
                return Err(self.error(start, format!("unit \"{}\" has a segment without a source", unit.id)));
            };
            let target_empty = segment.target.as_ref().is_none_or(|t| t.content.as_ref().is_none_or(|c| self.blank(c)));
            let state = if v12 { segment.target.as_ref().and_then(|t| t.state.clone()) } else { segment.state };
            let final_state = match (v12, state.as_deref()) {
                (true, Some("final" | "translated" | "signed-off")) => segment.target.is_some(),
                (false, Some("final")) => true,
                _ => false,
            };
            if !target_empty {
                self.translated += 1;
                continue;
            }
            if !unit.translate || unit.approved || final_state {
                self.locked += 1;
                continue;
            }
            if self.blank(&source) {
                continue;
            }
            let after = segment.seg_source.as_ref().map_or(source_end, |(_, end)| *end);
            let target = self.target_at(segment.target, after, source_start);
            if v12 {
                notes = self.notes_after(&target);
            }
            segments.push(Segment { id: segment.id, source, scope: segment.scope, target, segment_tag: segment.tag });
        }
        if segments.is_empty() {
            return Ok(());
        }
        let notes = match (notes, unit.notes_end, unit.first_body) {
            (Some(notes), _, _) => notes,
            (None, Some(end), _) => NotesAt::Inside(end),
            (None, None, Some(at)) => NotesAt::New { at, indent: indent_before(self.text, at) },
            (None, None, None) => return Err(self.error(start, format!("unit \"{}\" has no segment", unit.id))),
        };
        self.units.push(Unit { id: unit.id, line: unit.line, segments, notes, segmented: None, prefix: unit.prefix });
        Ok(())
    }

    /// Decides which segments of a segmented 1.2 unit to fill: all those with
    /// text when the target is missing or blank, else those whose `<mrk>` in
    /// the target is blank. Segments count one by one as filled, translated or
    /// locked.
    fn finish_segmented(&mut self, unit: UnitBuild, segment: SegmentBuild, start: usize) -> Result<(), XliffError> {
        let Some((source_start, _, _)) = segment.source else {
            return Err(self.error(start, format!("unit \"{}\" has a segment without a source", unit.id)));
        };
        let Some((template, seg_source_end)) = segment.seg_source else {
            return Err(self.error(start, format!("unit \"{}\" has segments outside a <seg-source>", unit.id)));
        };
        let final_state = segment
            .target
            .as_ref()
            .is_some_and(|t| matches!(t.state.as_deref(), Some("final" | "translated" | "signed-off")));
        let with_text: Vec<&Mark> =
            segment.source_marks.iter().filter(|m| m.content.as_ref().is_some_and(|c| !self.blank(c))).collect();
        let target_blank = segment.target.as_ref().is_none_or(|t| t.content.as_ref().is_none_or(|c| self.blank(c)));
        let mut segments = Vec::new();
        if target_blank {
            for mark in &with_text {
                let source = mark.content.clone().unwrap_or_default();
                segments.push(Segment {
                    id: Some(mark.mid.clone()),
                    source,
                    scope: mark.scope.clone(),
                    target: TargetAt::Composed,
                    segment_tag: None,
                });
            }
        } else if segment.target_marks.is_empty() {
            // Translated without segments.
            self.translated += 1;
            return Ok(());
        } else {
            for mark in &segment.target_marks {
                let blank = mark.content.as_ref().is_none_or(|c| self.blank(c));
                if !blank {
                    self.translated += 1;
                    continue;
                }
                let Some((source, scope)) = with_text
                    .iter()
                    .find(|m| m.mid == mark.mid)
                    .and_then(|m| Some((m.content.clone()?, m.scope.clone())))
                else {
                    continue;
                };
                let target = match &mark.content {
                    Some(content) => TargetAt::Open { start_tag: mark.start_tag.clone(), content: content.clone() },
                    None => TargetAt::Empty(mark.element.clone()),
                };
                segments.push(Segment { id: Some(mark.mid.clone()), source, scope, target, segment_tag: None });
            }
        }
        if segments.is_empty() {
            return Ok(());
        }
        if !unit.translate || unit.approved || final_state {
            self.locked += segments.len();
            return Ok(());
        }
        let start_tag = segment.target.as_ref().map(|t| t.start_tag.clone());
        let target = self.target_at(segment.target, seg_source_end, source_start);
        let Some(notes) = self.notes_after(&target) else {
            return Err(self.error(start, format!("unit \"{}\": no target", unit.id)));
        };
        let segmented = match start_tag {
            Some(start_tag) if !target_blank => Segmented::Marks { start_tag },
            _ => Segmented::Whole { target, template },
        };
        self.units.push(Unit {
            id: unit.id,
            line: unit.line,
            segments,
            notes,
            segmented: Some(segmented),
            prefix: unit.prefix,
        });
        Ok(())
    }
}

impl Document {
    /// Decodes and reads an XLIFF file. A file that is not well-formed is an
    /// error at its line and column.
    pub fn parse(bytes: &[u8]) -> Result<Self, XliffError> {
        let (text, encoding) = decode(bytes)?;
        let mut walk = Walk {
            text: &text,
            version: None,
            stack: Vec::new(),
            unit: None,
            units: Vec::new(),
            trg_lang_at: None,
            translated: 0,
            locked: 0,
            seen_root: false,
        };
        let mut reader = NsReader::from_str(&text);
        loop {
            let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(text.len());
            let (xliff, event) = match reader.read_resolved_event() {
                Ok((namespace, event)) => (is_xliff(&namespace, walk.version), event),
                Err(err) => {
                    let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX).min(text.len());
                    return Err(walk.error(at, format!("broken XML: {err}")));
                }
            };
            let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(text.len());
            match event {
                Event::Start(element) => walk.start(&element, at..end, false, xliff, reader.resolver())?,
                Event::Empty(element) => walk.start(&element, at..end, true, xliff, reader.resolver())?,
                Event::End(_) => walk.end(at..end)?,
                Event::Text(content) => {
                    if walk.stack.is_empty() && !content.xml10_content().trim().is_empty() {
                        return Err(walk.error(at, "broken XML: text outside the root element"));
                    }
                }
                Event::CData(_) if walk.stack.is_empty() => {
                    return Err(walk.error(at, "broken XML: CDATA outside the root element"));
                }
                Event::GeneralRef(reference) => {
                    if walk.stack.is_empty() {
                        return Err(walk.error(at, "broken XML: a reference outside the root element"));
                    }
                    check_reference(&reference).map_err(|problem| walk.error(at, problem))?;
                }
                Event::Eof => break,
                Event::CData(_) | Event::PI(_) | Event::Comment(_) | Event::Decl(_) | Event::DocType(_) => {}
            }
        }
        if let Some(frame) = walk.stack.last() {
            return Err(walk.error(frame.start, format!("broken XML: <{}> is never closed", frame.name)));
        }
        let Some(version) = walk.version else {
            return Err(walk.error(text.len(), "not an XLIFF file: no root element"));
        };
        let (units, trg_lang_at, translated, locked) = (walk.units, walk.trg_lang_at, walk.translated, walk.locked);
        Ok(Self { text, encoding, version, trg_lang_at, units, translated, locked })
    }

    /// The segments to fill, in document order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.units.iter().flat_map(|u| &u.segments)
    }
}

/// Checks that an entity or character reference resolves (XML's five entities
/// and character references; a document type's own entities are not read).
pub(super) fn check_reference(reference: &quick_xml::events::BytesRef) -> Result<String, String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => {
            let name = reference.xml10_content();
            quick_xml::escape::resolve_predefined_entity(&name)
                .map(str::to_owned)
                .ok_or_else(|| format!("broken XML: unknown entity &{name};"))
        }
        Err(err) => Err(format!("broken XML: {err}")),
    }
}
