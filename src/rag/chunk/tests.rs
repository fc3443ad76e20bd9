//! Unit tests per strategy and property tests of the chunk invariants
//! against a naive reference checker.

use super::*;
use proptest::prelude::{prop, proptest, ProptestConfig};
use proptest::prop_assert_eq;
use proptest::strategy::Strategy as _;

fn cfg(strategy: Strategy, chunk_size: usize, chunk_overlap: usize) -> ChunkConfig {
    ChunkConfig {
        strategy,
        chunk_size,
        chunk_overlap,
        separators: None,
    }
}

fn texts(chunks: &[Chunk]) -> Vec<&str> {
    chunks.iter().map(|c| c.text.as_str()).collect()
}

/// The reference checker: every invariant the module promises, computed
/// naively on a `Vec<char>`. Returns a description of the first violation.
fn check(text: &str, cfg: &ChunkConfig, chunks: &[Chunk]) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let (size, overlap) = effective_sizes(cfg);
    if chars.is_empty() {
        return if chunks.is_empty() {
            Ok(())
        } else {
            Err("chunks for empty input".into())
        };
    }
    let (first, last) = match (chunks.first(), chunks.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err("no chunk for non-empty input".into()),
    };
    if first.start != 0 || last.end != chars.len() {
        return Err(format!(
            "cover: first.start={} last.end={} n={}",
            first.start,
            last.end,
            chars.len()
        ));
    }
    let mut rebuilt = String::new();
    for (i, c) in chunks.iter().enumerate() {
        let len = c
            .end
            .checked_sub(c.start)
            .ok_or(format!("chunk {i}: end < start"))?;
        if len == 0 || len > size {
            return Err(format!("chunk {i}: {len} chars, size {size}"));
        }
        if c.end > chars.len() {
            return Err(format!("chunk {i}: end past input"));
        }
        let expect: String = chars[c.start..c.end].iter().collect();
        if c.text != expect {
            return Err(format!(
                "chunk {i}: text {:?} != input[{}..{}] {expect:?}",
                c.text, c.start, c.end
            ));
        }
        if i == 0 {
            rebuilt.push_str(&c.text);
            continue;
        }
        let prev = &chunks[i - 1];
        if c.start > prev.end {
            return Err(format!("chunk {i}: gap {}..{}", prev.end, c.start));
        }
        if c.start <= prev.start {
            return Err(format!(
                "chunk {i}: no progress ({} <= {})",
                c.start, prev.start
            ));
        }
        let shared = prev.end - c.start;
        if shared > overlap {
            return Err(format!("chunk {i}: overlap {shared} > {overlap}"));
        }
        rebuilt.extend(c.text.chars().skip(shared));
    }
    if rebuilt != text {
        return Err("reconstruction differs from the input".into());
    }
    Ok(())
}

fn split_checked(text: &str, cfg: &ChunkConfig) -> Vec<Chunk> {
    let chunks = split(text, cfg);
    if let Err(e) = check(text, cfg, &chunks) {
        panic!("{e}\ninput {text:?}\ncfg {cfg:?}\nchunks {chunks:?}");
    }
    chunks
}

#[test]
fn parse_names() {
    assert_eq!(Strategy::parse(""), Some(Strategy::Recursive));
    assert_eq!(Strategy::parse("recursive"), Some(Strategy::Recursive));
    assert_eq!(Strategy::parse("md"), Some(Strategy::Markdown));
    assert_eq!(Strategy::parse("markdown"), Some(Strategy::Markdown));
    for s in ["code", "go", "python"] {
        assert_eq!(Strategy::parse(s), Some(Strategy::Code));
    }
    assert_eq!(Strategy::parse("fixed"), Some(Strategy::Fixed));
    assert_eq!(Strategy::parse("Fixed"), None);
    assert_eq!(Strategy::parse("semantic"), None);
}

#[test]
fn empty_short_and_whitespace_inputs() {
    assert!(split("", &cfg(Strategy::Recursive, 10, 2)).is_empty());
    let one = split_checked("short text", &cfg(Strategy::Recursive, 100, 10));
    assert_eq!(texts(&one), ["short text"]);
    let ws = split_checked("  \n\n \n", &cfg(Strategy::Recursive, 100, 0));
    assert_eq!(texts(&ws), ["  \n\n \n"]);
}

#[test]
fn clamps_size_and_overlap() {
    let text = "x".repeat(1200);
    let chunks = split_checked(&text, &cfg(Strategy::Fixed, 0, 0));
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0].end, DEFAULT_CHUNK_SIZE);
    // overlap >= size is clamped to size / 2
    assert_eq!(effective_sizes(&cfg(Strategy::Fixed, 10, 10)), (10, 5));
    assert_eq!(effective_sizes(&cfg(Strategy::Fixed, 1, 3)), (1, 0));
    let chunks = split_checked("abcdefghijkl", &cfg(Strategy::Fixed, 4, 9));
    assert_eq!(texts(&chunks), ["abcd", "cdef", "efgh", "ghij", "ijkl"]);
}

#[test]
fn recursive_prefers_paragraphs_and_keeps_separators() {
    let text = "first paragraph here\n\nsecond one is here\n\nthird";
    let chunks = split_checked(text, &cfg(Strategy::Recursive, 22, 0));
    assert_eq!(
        texts(&chunks),
        [
            "first paragraph here",
            "\n\nsecond one is here",
            "\n\nthird"
        ]
    );
}

#[test]
fn recursive_overlap_is_whole_pieces() {
    let chunks = split_checked("aa bb cc dd", &cfg(Strategy::Recursive, 6, 3));
    assert_eq!(texts(&chunks), ["aa bb", " bb cc", " cc dd"]);
    // " bb" (3) fits the overlap but not together with the next piece in 5
    let chunks = split_checked("aa bb cc dd", &cfg(Strategy::Recursive, 5, 3));
    assert_eq!(texts(&chunks), ["aa bb", " cc", " dd"]);
}

#[test]
fn recursive_falls_back_to_characters() {
    let text = "abcdefghij klm";
    let chunks = split_checked(text, &cfg(Strategy::Recursive, 4, 1));
    assert_eq!(texts(&chunks), ["abcd", "defg", "ghij", " klm"]);
}

#[test]
fn markdown_headings_start_chunks() {
    let text =
        "# Title\nintro line\n## Alpha\nalpha body text\n## Beta\nbeta body text\n### Gamma\ng";
    let chunks = split_checked(text, &cfg(Strategy::Markdown, 30, 0));
    assert_eq!(
        texts(&chunks),
        [
            "# Title\nintro line",
            "\n## Alpha\nalpha body text",
            "\n## Beta\nbeta body text",
            "\n### Gamma\ng"
        ]
    );
}

#[test]
fn code_splits_at_fn_and_def() {
    let rust = "use std::io;\nfn alpha() {\n    one();\n}\nfn beta() {\n    two();\n}\n";
    let chunks = split_checked(rust, &cfg(Strategy::Code, 30, 0));
    assert_eq!(
        texts(&chunks),
        [
            "use std::io;",
            "\nfn alpha() {\n    one();\n}",
            "\nfn beta() {\n    two();\n}\n"
        ]
    );
    let py = "import os\ndef alpha():\n    return 1\ndef beta():\n    return 2\n";
    let chunks = split_checked(py, &cfg(Strategy::Code, 26, 0));
    assert_eq!(
        texts(&chunks),
        [
            "import os",
            "\ndef alpha():\n    return 1",
            "\ndef beta():\n    return 2\n"
        ]
    );
}

#[test]
fn fixed_windows_are_exact_and_count_characters() {
    let chunks = split_checked("abcdefghij", &cfg(Strategy::Fixed, 4, 1));
    assert_eq!(texts(&chunks), ["abcd", "defg", "ghij"]);
    let chunks = split_checked("日本語のテキスト", &cfg(Strategy::Fixed, 3, 0));
    assert_eq!(texts(&chunks), ["日本語", "のテキ", "スト"]);
    assert_eq!((chunks[1].start, chunks[1].end), (3, 6));
    assert_eq!((chunks[2].start, chunks[2].end), (6, 8));
}

#[test]
fn custom_separators_replace_the_list() {
    let mut c = cfg(Strategy::Recursive, 3, 0);
    c.separators = Some(vec!["|".to_string()]);
    let chunks = split_checked("ab|cd|ef", &c);
    assert_eq!(texts(&chunks), ["ab", "|cd", "|ef"]);
    // no "" in the custom list: oversized pieces still get character windows
    let chunks = split_checked("abcdefg|h", &c);
    assert_eq!(texts(&chunks), ["abc", "def", "g", "|h"]);
}

fn any_text() -> impl proptest::strategy::Strategy<Value = String> {
    let atoms = vec![
        "a", "b", "xyz", " ", "  ", "\n", "\n\n", "#", "\n# ", "\n## ", "\n### ", "é", "日", "fn ",
        "\nfn ", "\ndef ", "\t", "ab cd",
    ];
    prop::collection::vec(prop::sample::select(atoms), 0..120).prop_map(|v| v.concat())
}

fn any_config() -> impl proptest::strategy::Strategy<Value = ChunkConfig> {
    let strategy = prop::sample::select(vec![
        Strategy::Recursive,
        Strategy::Markdown,
        Strategy::Code,
        Strategy::Fixed,
    ]);
    let custom = prop::option::weighted(
        0.2,
        prop::collection::vec(
            prop::sample::select(vec!["#", "é", " ", "\n", "", "ab"]),
            0..4,
        ),
    );
    (1usize..200, strategy, custom).prop_flat_map(|(size, strategy, custom)| {
        (0..size).prop_map(move |overlap| ChunkConfig {
            strategy,
            chunk_size: size,
            chunk_overlap: overlap,
            separators: custom
                .clone()
                .map(|v| v.into_iter().map(String::from).collect()),
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn invariants_hold(text in any_text(), cfg in any_config()) {
        let chunks = split(&text, &cfg);
        prop_assert_eq!(check(&text, &cfg, &chunks), Ok(()));
    }

    #[test]
    fn small_sizes_hold(text in any_text(), size in 1usize..6, overlap in 0usize..8) {
        let cfg = ChunkConfig { strategy: Strategy::Markdown, chunk_size: size, chunk_overlap: overlap, separators: None };
        let chunks = split(&text, &cfg);
        prop_assert_eq!(check(&text, &cfg, &chunks), Ok(()));
    }

    #[test]
    fn fixed_windows_step_exactly(text in any_text(), size in 1usize..50, ov in 0usize..50) {
        let c = cfg(Strategy::Fixed, size, ov);
        let (size, ov) = effective_sizes(&c);
        let chunks = split(&text, &c);
        prop_assert_eq!(check(&text, &c, &chunks), Ok(()));
        for (i, ch) in chunks.iter().enumerate() {
            prop_assert_eq!(ch.start, i * (size - ov));
            if i + 1 < chunks.len() {
                prop_assert_eq!(ch.end - ch.start, size);
            }
        }
    }
}
