//! Loader tests on fixtures built in-test: text decoding, HTML stripping,
//! PDF pages, DOCX paragraphs, and corrupt inputs that must fail cleanly.

use super::fixtures::{docx_from_xml, minimal_docx, minimal_pdf};
use super::*;
use proptest::prelude::*;
use std::path::Path;

fn load_as(name: &str, bytes: &[u8]) -> Result<Loaded, LoadError> {
    load(Path::new(name), bytes)
}

fn only_text(loaded: &Loaded) -> &str {
    assert_eq!(loaded.pages.len(), 1, "{loaded:?}");
    assert_eq!(loaded.pages[0].number, None);
    &loaded.pages[0].text
}

fn is_parse(r: &Result<Loaded, LoadError>, want: &str) -> bool {
    matches!(r, Err(LoadError::Parse { kind, .. }) if *kind == want)
}

#[test]
fn kinds_by_extension() {
    for (name, kind) in [
        ("a.txt", "text"),
        ("notes.LOG", "text"),
        ("x.yaml", "text"),
        ("README", "text"),
        ("weird.xyz", "text"),
        ("a.md", "markdown"),
        ("b.MDX", "markdown"),
        ("m.rs", "code"),
        ("m.py", "code"),
        ("s.css", "code"),
        ("p.HTML", "html"),
        ("p.xhtml", "html"),
        ("d.pdf", "pdf"),
        ("d.docx", "docx"),
        ("i.png", "binary"),
        ("a.tar", "binary"),
    ] {
        assert_eq!(kind_of(Path::new(name)), kind, "{name}");
    }
}

#[test]
fn text_files_decode_and_strip_bom() {
    let l = load_as("a.txt", "\u{feff}héllo\nworld".as_bytes()).unwrap();
    assert_eq!((l.kind, only_text(&l)), ("text", "héllo\nworld"));
    let l = load_as("a.md", b"# Title\n").unwrap();
    assert_eq!((l.kind, only_text(&l)), ("markdown", "# Title\n"));
    let l = load_as("main.go", b"package main\n").unwrap();
    assert_eq!(l.kind, "code");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("hé日".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(only_text(&load_as("u.txt", &utf16).unwrap()), "hé日");
    assert_eq!(load_as("empty.txt", b"").unwrap().pages, vec![]);
    let l = load_as("data.unknownext", b"plain words").unwrap();
    assert_eq!((l.kind, only_text(&l)), ("text", "plain words"));
}

#[test]
fn binary_files_are_refused() {
    assert_eq!(
        load_as("i.PNG", b"\x89PNG\r\n"),
        Err(LoadError::Binary("unsupported type .png".into()))
    );
    assert_eq!(
        load_as("blob.dat", b"ab\0cd"),
        Err(LoadError::Binary("NUL bytes".into()))
    );
    assert_eq!(
        load_as("a.txt", b"ok \xff\xfe bad"),
        Err(LoadError::Binary("not UTF-8".into()))
    );
    assert_eq!(
        load_as("noext", &[0xC3, 0x28]),
        Err(LoadError::Binary("not UTF-8".into()))
    );
    assert_eq!(
        LoadError::Binary("NUL bytes".into()).to_string(),
        "binary file (NUL bytes)"
    );
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head>
  <meta charset="utf-8"><title>KektorDB &amp; RAG</title>
  <style>body { color: red; } p > a { x: "</p>" }</style>
  <script>var s = "<div>not text</div>"; if (a < b) {}</script>
</head>
<body>
  <!-- a comment <p>hidden</p> -->
  <nav><ul><li><a href="/">Home</a></li><li><a href="/docs" title="a > b">Docs</a></li></ul></nav>
  <h1>Fast   vector
      search</h1>
  <p>Caf&eacute; &lt;tags&gt; &quot;quoted&quot; it&#39;s&nbsp;here &#x65E5;&#26412; &bogus; a&b</p>
  <SCRIPT type="text/javascript">alert("x")</SCRIPT>
  <div>line one<br>line two<br/></div>
  <table><tr><td>k</td><td>v</td></tr></table>
  <pre>  keep
    indent</pre>
  <p>3 < 4 and 5 > 4</p>
</body></html>"#;

#[test]
fn html_to_text() {
    let l = load_as("index.html", PAGE.as_bytes()).unwrap();
    assert_eq!(l.kind, "html");
    let expected = "KektorDB & RAG\n\nHome\nDocs\n\nFast vector search\n\n\
        Café <tags> \"quoted\" it's here 日本 &bogus; a&b\n\nline one\nline two\n\nk v\n\n  keep\n    indent\n\n3 < 4 and 5 > 4";
    assert_eq!(only_text(&l), expected);
}

#[test]
fn html_edge_cases() {
    assert_eq!(
        only_text(&load_as("a.htm", b"<p>a</p><!-- never closed <p>b</p>").unwrap()),
        "a"
    );
    assert_eq!(
        only_text(&load_as("a.htm", b"x <3 y <b>bold</b>").unwrap()),
        "x <3 y bold"
    );
    assert_eq!(
        only_text(&load_as("a.htm", b"<p>t</p><script>no end").unwrap()),
        "t"
    );
    assert_eq!(
        only_text(&load_as("a.htm", b"<title>Only</title>").unwrap()),
        "Only"
    );
    assert_eq!(
        load_as("a.htm", b"<html><head><meta x=1></head></html>")
            .unwrap()
            .pages,
        vec![]
    );
    assert_eq!(
        only_text(&load_as("a.htm", b"&#0;&#xD800;&#99999999;&#99999999999;").unwrap()),
        "\u{FFFD}\u{FFFD}\u{FFFD}&#99999999999;"
    );
}

#[test]
fn pdf_pages_are_numbered() {
    let pdf = minimal_pdf(&["Hello page one", "Second page text"]);
    let l = load_as("doc.pdf", &pdf).unwrap();
    assert_eq!(l.kind, "pdf");
    let got: Vec<(Option<u32>, &str)> = l
        .pages
        .iter()
        .map(|p| (p.number, p.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![(Some(1), "Hello page one"), (Some(2), "Second page text")]
    );
}

#[test]
fn pdf_skips_empty_pages_and_escapes() {
    let pdf = minimal_pdf(&["(a) back\\slash", "", "Café line\nnext line"]);
    let l = load_as("x.PDF", &pdf).unwrap();
    let numbers: Vec<Option<u32>> = l.pages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, vec![Some(1), Some(3)]);
    assert_eq!(l.pages[0].text, "(a) back\\slash");
    assert_eq!(l.pages[1].text, "Café line\nnext line");
}

#[test]
fn corrupt_pdfs_are_parse_errors() {
    for bad in [
        &b"not a pdf at all"[..],
        b"",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
    ] {
        let r = load_as("bad.pdf", bad);
        assert!(is_parse(&r, "pdf"), "{r:?}");
    }
    let good = minimal_pdf(&["Hello page one", "Second page text"]);
    for cut in (0..good.len()).step_by(7) {
        let r = load_as("cut.pdf", &good[..cut]);
        match r {
            Ok(l) => assert!(l.pages.iter().all(|p| matches!(p.number, Some(1 | 2)))),
            Err(e) => assert!(matches!(e, LoadError::Parse { kind: "pdf", .. }), "{e:?}"),
        }
    }
}

#[test]
fn docx_paragraphs_and_headings() {
    let docx = minimal_docx(&[
        (Some("Title"), "Report"),
        (Some("Heading1"), "Intro"),
        (None, "Plain <text> & \"more\"\twith tab\nand break"),
        (Some("heading 2"), "Details"),
        (Some("Normal"), "   "),
        (Some("Quote"), "Said"),
    ]);
    let l = load_as("r.docx", &docx).unwrap();
    assert_eq!(l.kind, "docx");
    assert_eq!(
        only_text(&l),
        "# Report\n\n# Intro\n\nPlain <text> & \"more\"\twith tab\nand break\n\n## Details\n\nSaid"
    );
}

#[test]
fn docx_ignores_tab_stops_and_resolves_refs() {
    let xml = r#"<?xml version="1.0"?><w:document xmlns:w="w"><w:body>
      <w:p><w:pPr><w:pStyle w:val="Heading3"/><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
      <w:r><w:t>A&#233;&amp;</w:t></w:r><w:r><w:delText>gone</w:delText><w:t xml:space="preserve"> B</w:t></w:r></w:p>
      <w:p/><w:p><w:r><w:t>C</w:t></w:r></w:p></w:body></w:document>"#;
    let l = load_as("x.docx", &docx_from_xml(xml.as_bytes())).unwrap();
    assert_eq!(only_text(&l), "### Aé& B\n\nC");
}

#[test]
fn corrupt_docx_are_parse_errors() {
    for bad in [&b"PK\x03\x04 garbage"[..], b"", b"plain text"] {
        assert!(is_parse(&load_as("bad.docx", bad), "docx"));
    }
    let r = load_as(
        "bad.docx",
        &docx_from_xml(b"<w:document><w:p><w:t>x</w:t></w:p"),
    );
    assert!(is_parse(&r, "docx"), "{r:?}");
    let r = load_as("bad.docx", &docx_from_xml(b"<w:t>\xff\xfe</w:t>"));
    assert_eq!(
        r,
        Err(LoadError::Parse {
            kind: "docx",
            reason: "document.xml is not UTF-8".into()
        })
    );
    let good = minimal_docx(&[(None, "some text here")]);
    for cut in (0..good.len()).step_by(11) {
        assert!(
            is_parse(&load_as("cut.docx", &good[..cut]), "docx"),
            "cut at {cut}"
        );
    }
}

#[test]
fn docx_bomb_is_refused() {
    let mut xml = b"<w:document><w:body>".to_vec();
    xml.resize(docx::MAX_XML_BYTES as usize + 10, b' ');
    let r = load_as("bomb.docx", &docx_from_xml(&xml));
    assert_eq!(
        r,
        Err(LoadError::Parse {
            kind: "docx",
            reason: "document.xml too large".into()
        })
    );
}

#[test]
fn docx_style_prefixes() {
    for (style, prefix) in [
        ("Title", "# "),
        ("Heading1", "# "),
        ("heading 1", "# "),
        ("Heading2", "## "),
        ("heading 3", "### "),
        ("Heading9", "###### "),
        ("Normal", ""),
        ("Heading", ""),
        ("", ""),
    ] {
        assert_eq!(docx::style_prefix(style), prefix, "{style}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), ext in prop::sample::select(vec!["pdf", "docx", "html", "txt", "bin2"])) {
        let r = load_as(&format!("f.{ext}"), &bytes);
        let clean = matches!(&r, Ok(_) | Err(LoadError::Binary(_)) | Err(LoadError::Parse { .. }));
        prop_assert!(clean, "{:?}", r);
        if let Ok(l) = r {
            prop_assert!(l.pages.iter().all(|p| !p.text.is_empty()));
        }
    }

    #[test]
    fn mutated_pdf_never_panics(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut pdf = minimal_pdf(&["Hello page one", "Second page text"]);
        for (at, byte) in flips {
            let i = at.index(pdf.len());
            pdf[i] = byte;
        }
        match load_as("m.pdf", &pdf) {
            Ok(l) => {
                let sane = l.pages.iter().all(|p| matches!(p.number, Some(1 | 2)) && !p.text.is_empty());
                prop_assert!(sane, "{:?}", l);
            }
            Err(e) => {
                let parse = matches!(e, LoadError::Parse { kind: "pdf", .. });
                prop_assert!(parse, "{:?}", e);
            }
        }
    }
}
