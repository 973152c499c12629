//! Removing scraping artifacts from articles, by rules listed in one table
//! ([`RULES`]) and reported one by one.

/// What a rule recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `open` + one or more ASCII digits + `close`, anywhere in a line
    /// (e.g. `[ad_1]`); the marker is removed.
    NumberedMarker {
        /// Text before the number.
        open: &'static str,
        /// Text after it.
        close: &'static str,
    },
    /// A whole line, among the article's last lines (after the last paragraph),
    /// that is `word` alone or followed by `:` and a link or name; the line is
    /// removed.
    TrailingLine {
        /// The line's first word.
        word: &'static str,
    },
    /// A whole line that starts with `prefix` (a "read also" teaser); removed.
    LinePrefix {
        /// The line's start.
        prefix: &'static str,
    },
    /// Invisible format characters (zero-width and bidi controls, BOM, soft
    /// hyphen); removed.
    Invisible,
    /// Runs of spaces and tabs become one space; lines are trimmed.
    Whitespace,
}

/// A cleaning rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Short name used in reports.
    pub name: &'static str,
    /// What it matches.
    pub pattern: Pattern,
}

/// Every cleaning rule, applied in this order.
pub const RULES: &[Rule] = &[
    Rule { name: "invisible", pattern: Pattern::Invisible },
    Rule { name: "ad-marker", pattern: Pattern::NumberedMarker { open: "[ad_", close: "]" } },
    Rule { name: "ad-marker", pattern: Pattern::NumberedMarker { open: "[ad", close: "]" } },
    Rule { name: "read-also", pattern: Pattern::LinePrefix { prefix: "اقرأ أيضا" } },
    Rule { name: "read-also", pattern: Pattern::LinePrefix { prefix: "اقرأ أيضاً" } },
    Rule { name: "source-line", pattern: Pattern::TrailingLine { word: "المصدر" } },
    Rule { name: "source-line", pattern: Pattern::TrailingLine { word: "مصدر الخبر" } },
    Rule { name: "whitespace", pattern: Pattern::Whitespace },
];

/// How many of the last non-empty lines a trailing-line rule looks at.
const TRAILING_LINES: usize = 2;
/// Longest line a trailing-line rule removes (in characters).
const TRAILING_MAX_CHARS: usize = 300;

/// One thing a rule removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The rule's name.
    pub rule: &'static str,
    /// 1-based line of the original text.
    pub line: usize,
    /// What was removed (a whole line, a marker, or a description for characters).
    pub text: String,
}

/// A cleaned article: its lines (empty where a line was emptied, so numbering
/// is kept) and what was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The lines after cleaning, one per original line.
    pub lines: Vec<String>,
    /// What the rules removed, in rule order, then line order.
    pub removed: Vec<Removal>,
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Removes every `open` + digits + `close` marker from `line`; returns the markers.
fn remove_markers(line: &mut String, open: &str, close: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find(open) {
        let start = from + at;
        let digits_start = start + open.len();
        let digits = line[digits_start..].bytes().take_while(u8::is_ascii_digit).count();
        let end = digits_start + digits;
        if digits > 0 && line[end..].starts_with(close) {
            let end = end + close.len();
            found.push(line[start..end].to_string());
            line.replace_range(start..end, "");
            from = start;
        } else {
            from = digits_start;
        }
    }
    found
}

/// Whether `line` is `word` alone, or `word` followed by `:` or whitespace and
/// a short link or name.
fn is_trailing_line(line: &str, word: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix(word) else { return false };
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with([':', '：']) || rest.starts_with("http") || line.chars().count() <= 80
}

/// Applies [`RULES`] to `text`.
pub fn clean(text: &str) -> Cleaned {
    let mut lines: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()).collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    let mut removed = Vec::new();
    for rule in RULES {
        match rule.pattern {
            Pattern::Invisible => {
                for (i, line) in lines.iter_mut().enumerate() {
                    let count = line.chars().filter(|&c| is_invisible(c)).count();
                    if count > 0 {
                        line.retain(|c| !is_invisible(c));
                        removed.push(Removal {
                            rule: rule.name,
                            line: i + 1,
                            text: format!("{count} invisible characters"),
                        });
                    }
                }
            }
            Pattern::NumberedMarker { open, close } => {
                for (i, line) in lines.iter_mut().enumerate() {
                    for marker in remove_markers(line, open, close) {
                        removed.push(Removal { rule: rule.name, line: i + 1, text: marker });
                    }
                }
            }
            Pattern::LinePrefix { prefix } => {
                for (i, line) in lines.iter_mut().enumerate() {
                    if line.trim_start().starts_with(prefix) {
                        removed.push(Removal { rule: rule.name, line: i + 1, text: line.trim().to_string() });
                        line.clear();
                    }
                }
            }
            Pattern::TrailingLine { word } => {
                let last: Vec<usize> =
                    (0..lines.len()).rev().filter(|&i| !lines[i].trim().is_empty()).take(TRAILING_LINES).collect();
                for i in last {
                    let line = &mut lines[i];
                    if line.chars().count() <= TRAILING_MAX_CHARS && is_trailing_line(line, word) {
                        removed.push(Removal { rule: rule.name, line: i + 1, text: line.trim().to_string() });
                        line.clear();
                    }
                }
            }
            Pattern::Whitespace => {
                for (i, line) in lines.iter_mut().enumerate() {
                    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
                    if collapsed != *line {
                        let extra = line.chars().count() - collapsed.chars().count();
                        removed.push(Removal {
                            rule: rule.name,
                            line: i + 1,
                            text: format!("{extra} whitespace characters"),
                        });
                        *line = collapsed;
                    }
                }
            }
        }
    }
    removed.sort_by_key(|r| r.line);
    Cleaned { lines, removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_source_lines_and_invisible_characters_go() {
        let text = "[ad_1]\nقال  الرئيس\u{200F} إن [ad_12]الوضع هادئ.\nاقرأ أيضا: خبر آخر\n\n[ad_2]\nالمصدر\n";
        let cleaned = clean(text);
        assert_eq!(cleaned.lines, vec!["", "قال الرئيس إن الوضع هادئ.", "", "", "", ""]);
        let got: Vec<(&str, usize, &str)> = cleaned.removed.iter().map(|r| (r.rule, r.line, r.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("ad-marker", 1, "[ad_1]"),
                ("invisible", 2, "1 invisible characters"),
                ("ad-marker", 2, "[ad_12]"),
                ("whitespace", 2, "1 whitespace characters"),
                ("read-also", 3, "اقرأ أيضا: خبر آخر"),
                ("ad-marker", 5, "[ad_2]"),
                ("source-line", 6, "المصدر"),
            ]
        );
    }

    #[test]
    fn source_word_inside_the_article_stays() {
        let text = "المصدر الرئيسي للقلق هو ارتفاع الأسعار في الأسواق المحلية والعالمية خلال الأشهر الماضية، كما قال الخبراء.\nفقرة أخيرة.\nالمصدر: https://example.com/x";
        let cleaned = clean(text);
        assert_eq!(cleaned.lines[0].chars().count(), text.lines().next().unwrap().chars().count());
        assert_eq!(cleaned.lines[2], "");
        assert_eq!(cleaned.removed.len(), 1);
        assert_eq!(cleaned.removed[0].text, "المصدر: https://example.com/x");
        // Text without artifacts is unchanged.
        assert_eq!(clean("سطر.\nسطر آخر.").removed, vec![]);
        assert_eq!(remove_markers(&mut "[ad_x] [ad_]".to_string(), "[ad_", "]"), Vec::<String>::new());
    }
}
