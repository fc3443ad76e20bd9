//! A small, forgiving HTML-to-text converter: drops tags, comments and the
//! content of `<head>`, `<script>`, `<style>` and similar; block elements
//! become line or paragraph breaks; entities are decoded; whitespace is
//! collapsed as a browser would (except in `<pre>`). The `<title>` text, if
//! any, becomes the first line.

/// Elements whose whole content is dropped.
const SKIPPED: &[&str] = &[
    "script", "style", "template", "noscript", "svg", "iframe", "object",
];
/// Elements that start and end a paragraph (blank line).
const PARAGRAPH: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "figure",
    "blockquote",
    "pre",
    "hr",
    "form",
    "fieldset",
    "address",
    "details",
];
/// Elements that start and end a line.
const LINE: &[&str] = &[
    "div",
    "br",
    "li",
    "dt",
    "dd",
    "tr",
    "thead",
    "tbody",
    "tfoot",
    "figcaption",
    "legend",
    "summary",
    "caption",
    "center",
    "option",
    "body",
];

/// Text output with browser-like whitespace collapsing.
#[derive(Default)]
struct Out {
    buf: String,
    /// 0: nothing pending, 1: a space, 2: a newline, 3: a blank line.
    pending: u8,
}

impl Out {
    fn want(&mut self, level: u8) {
        self.pending = self.pending.max(level);
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            match self.pending {
                1 if !self.buf.ends_with('\n') => self.buf.push(' '),
                2 => self.buf.push('\n'),
                3 => self.buf.push_str("\n\n"),
                _ => {}
            }
        }
        self.pending = 0;
    }

    fn text(&mut self, s: &str, pre: bool) {
        for c in s.chars() {
            if pre {
                self.flush();
                if c != '\r' {
                    self.buf.push(c);
                }
            } else if c.is_whitespace() && c != '\u{a0}' {
                self.want(1);
            } else {
                self.flush();
                self.buf.push(if c == '\u{a0}' { ' ' } else { c });
            }
        }
    }
}

/// Converts an HTML document to plain text.
pub fn to_text(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Out::default();
    let mut title = Out::default();
    let (mut in_head, mut in_title, mut pre) = (false, false, 0usize);
    let mut i = 0usize;
    let mut text_from = 0usize;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let segment = &src[text_from..i];
        if in_title {
            title.text(&decode_entities(segment), false);
        } else if !in_head {
            out.text(&decode_entities(segment), pre > 0);
        }
        let rest = &b[i..];
        let next = if rest.starts_with(b"<!--") {
            find(b, i + 4, b"-->").map_or(b.len(), |e| e + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find(b, i + 9, b"]]>").unwrap_or(b.len());
            if !in_head {
                out.text(&src[i + 9..end], pre > 0);
            }
            (end + 3).min(b.len())
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            find(b, i + 2, b">").map_or(b.len(), |e| e + 1)
        } else if let Some(tag) = parse_tag(b, i) {
            let name = tag.name.as_str();
            let level = if PARAGRAPH.contains(&name) {
                3
            } else if LINE.contains(&name) {
                2
            } else {
                0
            };
            let mut next = tag.end;
            if tag.closing {
                match name {
                    "head" => in_head = false,
                    "title" => in_title = false,
                    "pre" => pre = pre.saturating_sub(1),
                    _ => {}
                }
            } else {
                match name {
                    "head" => in_head = true,
                    "body" => in_head = false,
                    "title" if !tag.self_closing => in_title = true,
                    "pre" if !tag.self_closing => pre += 1,
                    "td" | "th" => out.want(1),
                    n if SKIPPED.contains(&n) && !tag.self_closing => {
                        let close = format!("</{n}");
                        next = find_ci(b, tag.end, close.as_bytes())
                            .and_then(|e| find(b, e, b">"))
                            .map_or(b.len(), |e| e + 1);
                    }
                    _ => {}
                }
            }
            if level > 0 && !in_head {
                out.want(level);
            }
            next
        } else {
            // A '<' that starts no tag ("a < b") is text.
            text_from = i;
            i += 1;
            continue;
        };
        i = next;
        text_from = next;
    }
    if text_from < b.len() && !in_head {
        out.text(&decode_entities(&src[text_from..]), pre > 0);
    }
    let body = tidy(&out.buf);
    let title = title.buf.trim().to_string();
    match (title.is_empty(), body.is_empty()) {
        (true, _) => body,
        (false, true) => title,
        (false, false) => format!("{title}\n\n{body}"),
    }
}

struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    /// Byte just past the closing '>'.
    end: usize,
}

/// Parses a tag starting at `b[i] == b'<'`; `None` if it is not one.
fn parse_tag(b: &[u8], i: usize) -> Option<Tag> {
    let mut j = i + 1;
    let closing = b.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    if !b.get(j)?.is_ascii_alphabetic() {
        return None;
    }
    let start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
        j += 1;
    }
    let name = String::from_utf8_lossy(&b[start..j]).to_ascii_lowercase();
    let mut quote = None;
    while j < b.len() {
        match (quote, b[j]) {
            (None, b'"' | b'\'') => quote = Some(b[j]),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => {
                let self_closing = j > start && b[j - 1] == b'/';
                return Some(Tag {
                    name,
                    closing,
                    self_closing,
                    end: j + 1,
                });
            }
            _ => {}
        }
        j += 1;
    }
    // Unterminated tag: the rest of the document is inside it.
    Some(Tag {
        name,
        closing,
        self_closing: false,
        end: b.len(),
    })
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = b.get(from..)?;
    hay.windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = b.get(from..)?;
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// Trims line ends and keeps at most one blank line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Decodes character references and the common named entities; anything
/// unrecognised stays as written.
pub fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest.as_bytes().iter().take(34).position(|&c| c == b';');
        match semi.and_then(|p| entity(&rest[1..p]).map(|c| (p, c))) {
            Some((p, c)) => {
                out.push_str(c.as_ref());
                rest = &rest[p + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// Named entities decoded; others stay as written.
#[rustfmt::skip]
const NAMED: &[(&str, &str)] = &[
    ("amp", "&"), ("lt", "<"), ("gt", ">"), ("quot", "\""), ("apos", "'"), ("nbsp", "\u{a0}"),
    ("shy", ""), ("zwj", ""), ("zwnj", ""), ("copy", "©"), ("reg", "®"), ("trade", "™"),
    ("hellip", "…"), ("mdash", "—"), ("ndash", "–"), ("lsquo", "‘"), ("rsquo", "’"),
    ("ldquo", "“"), ("rdquo", "”"), ("laquo", "«"), ("raquo", "»"), ("bull", "•"), ("middot", "·"),
    ("deg", "°"), ("euro", "€"), ("pound", "£"), ("yen", "¥"), ("cent", "¢"), ("sect", "§"),
    ("para", "¶"), ("times", "×"), ("divide", "÷"), ("eacute", "é"), ("egrave", "è"),
    ("agrave", "à"), ("ccedil", "ç"), ("uuml", "ü"), ("ouml", "ö"), ("auml", "ä"), ("szlig", "ß"),
];

fn entity(name: &str) -> Option<std::borrow::Cow<'static, str>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        let c = char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}');
        return Some(c.to_string().into());
    }
    NAMED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| std::borrow::Cow::Borrowed(*s))
}
