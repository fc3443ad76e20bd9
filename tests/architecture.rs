//! The tree's rules, checked on the sources (see ARCHITECTURE.md, "Rules"):
//! 1. dependencies point one way: the data plane (`shards`, `io`) has no runtime,
//!    threads or network (glommio only in `io`'s optional direct-I/O log);
//! 2. nothing but the edge layer (`src/edge/`) opens outbound connections or uses
//!    the edge's runtime and client crates; the engine and the HTTP API (which run on
//!    the shard executors) never import the edge;
//! 3. front ends reach the database through the engine, never through `http`;
//! 4. no import cycle between sibling modules inside a crate;
//! 5. no source file over 600 lines; `src/http` holds only HTTP.
//!
//! Each rule is also run on a small bad example, so the checker itself is known to
//! catch what it looks for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: path relative to the repository root, and its text.
struct Source {
    path: String,
    text: String,
}

/// The tree checked: this checkout, or `KEKTOR_ARCH_ROOT` (to see what the rules
/// say of another tree, e.g. an older commit's).
fn root() -> PathBuf {
    std::env::var("KEKTOR_ARCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn sources(dir: &str) -> Vec<Source> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<Source>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push(Source {
                    text: std::fs::read_to_string(&p).unwrap(),
                    path: rel,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &root().join(dir), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Code lines of a file (comments dropped, so docs may name what they forbid).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A rule: files under `under` (except `except`) must not contain any of `words`.
struct Rule {
    name: &'static str,
    under: &'static str,
    except: &'static [&'static str],
    words: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        name: "the data plane has no runtime, threads or network",
        under: "shards/src/",
        except: &[],
        words: &[
            "glommio",
            "tokio",
            "reqwest",
            "hyper",
            "flume",
            "std::thread",
            "std::net",
            "kektordb::",
            "rayon",
        ],
    },
    Rule {
        name: "io has no runtime or network (glommio only in the optional DMA log)",
        under: "io/src/",
        except: &["io/src/dma_log.rs"],
        words: &["glommio", "tokio", "reqwest", "hyper", "std::net"],
    },
    Rule {
        name: "the engine and the HTTP API never use the edge or its crates",
        under: "src/",
        except: &[
            "src/edge/",
            "src/embed/",
            "src/rag/",
            "src/proxy/",
            "src/llm.rs",
            "src/main.rs",
            "src/lib.rs",
            "src/limits.rs",
            "src/config/",
        ],
        words: &["crate::edge", "tokio", "reqwest", "hyper"],
    },
    Rule {
        name: "only the edge opens outbound connections",
        under: "src/",
        except: &["src/edge/"],
        words: &[
            "TcpStream::connect",
            "UdpSocket",
            "std::net::TcpStream",
            "reqwest::",
        ],
    },
    Rule {
        name: "threads that compute (rayon) belong to the edge's CPU pool and the embedder",
        under: "src/",
        except: &["src/edge/", "src/embed/local/"],
        words: &["rayon"],
    },
    Rule {
        name: "front ends reach the database through the engine, not through http",
        under: "src/",
        except: &["src/http/", "src/main.rs", "src/lib.rs", "src/config/"],
        words: &["crate::http", "kektordb::http"],
    },
    Rule {
        name: "src/http holds only HTTP (no engine methods, tasks or schedulers)",
        under: "src/http/",
        except: &[],
        words: &["impl Engine", "spawn_task", "glommio::timer::sleep(TICK"],
    },
];

fn violations(rule: &Rule, files: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        if !f.path.starts_with(rule.under) || rule.except.iter().any(|e| f.path.starts_with(e)) {
            continue;
        }
        let body = code(&f.text);
        for w in rule.words {
            if body.contains(w) {
                out.push(format!("{}: `{w}` ({})", f.path, rule.name));
            }
        }
    }
    out
}

fn all_sources() -> Vec<Source> {
    let mut v = sources("src");
    v.extend(sources("shards/src"));
    v.extend(sources("io/src"));
    v
}

#[test]
fn dependencies_point_one_way() {
    let files = all_sources();
    let mut bad = Vec::new();
    for rule in RULES {
        bad.extend(violations(rule, &files));
    }
    assert!(
        bad.is_empty(),
        "forbidden dependencies:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checker_catches_a_forbidden_import() {
    let fake = |path: &str, text: &str| Source {
        path: path.to_owned(),
        text: text.to_owned(),
    };
    let files = vec![
        fake("shards/src/index/mod.rs", "use glommio::timer;\n"),
        fake("src/http/handlers/x.rs", "use crate::edge::HttpClient;\n"),
        fake(
            "src/engine/items.rs",
            "let s = std::net::TcpStream::connect(a);\n",
        ),
        fake("src/mcp/tools.rs", "use crate::http::errors::ApiError;\n"),
        fake("src/edge/client.rs", "use reqwest::Client;\n"),
        fake(
            "shards/src/ok.rs",
            "// glommio is named in a comment only\n",
        ),
    ];
    let found: Vec<String> = RULES.iter().flat_map(|r| violations(r, &files)).collect();
    let hit = |p: &str| found.iter().any(|v| v.starts_with(p));
    assert!(hit("shards/src/index/mod.rs"), "{found:?}");
    assert!(hit("src/http/handlers/x.rs"), "{found:?}");
    assert!(hit("src/engine/items.rs"), "{found:?}");
    assert!(hit("src/mcp/tools.rs"), "{found:?}");
    assert!(!hit("src/edge/client.rs"), "{found:?}");
    assert!(!hit("shards/src/ok.rs"), "{found:?}");
}

#[test]
fn manifests_keep_the_data_plane_free_of_runtimes() {
    let shards = std::fs::read_to_string(root().join("shards/Cargo.toml")).unwrap();
    let deps = shards.split("[dependencies]").nth(1).unwrap_or("");
    let deps = deps.split("\n[").next().unwrap_or("");
    for forbidden in ["glommio", "tokio", "reqwest", "hyper", "flume"] {
        assert!(!deps.contains(forbidden), "shards depends on {forbidden}");
    }
    let io = std::fs::read_to_string(root().join("io/Cargo.toml")).unwrap();
    let glommio_line = io.lines().find(|l| l.starts_with("glommio")).unwrap_or("");
    assert!(
        glommio_line.contains("optional = true"),
        "glommio must be optional in io: {glommio_line}"
    );
}

/// The module path of a file inside a crate root (`engine/walk.rs` -> engine::walk).
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `use` references of a file to other modules of the same crate, resolved.
fn references(
    module: &[String],
    text: &str,
    known: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let body = code(text);
    // `super` names the parent module (for `a/mod.rs`, module `a`, and for `a/b.rs`,
    // module `a::b`, alike).
    let parent = |m: &[String]| m[..m.len().saturating_sub(1)].to_vec();
    let separators =
        |c: char| c.is_whitespace() || c == '{' || c == '(' || c == '<' || c == ',' || c == '&';
    for raw in body.split(separators) {
        let path = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let (start, rest) = if let Some(r) = path.strip_prefix("crate::") {
            (Vec::new(), r)
        } else if let Some(r) = path.strip_prefix("super::") {
            let mut b = parent(module);
            let mut r = r;
            while let Some(rr) = r.strip_prefix("super::") {
                b = parent(&b);
                r = rr;
            }
            (b, r)
        } else {
            continue;
        };
        let mut m = start;
        let mut best = None;
        for seg in rest.split("::") {
            m.push(seg.to_owned());
            if known.contains(&m) {
                best = Some(m.clone());
            } else {
                break;
            }
        }
        if let Some(b) = best {
            if b != module {
                out.insert(b);
            }
        }
    }
    out
}

/// Cycles between sibling modules: each reference A -> B becomes an edge between
/// the children of their lowest common ancestor that contain A and B.
fn sibling_cycles(files: &[(String, String)]) -> Vec<String> {
    let known: BTreeSet<Vec<String>> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (path, text) in files {
        let from = module_of(path);
        for to in references(&from, text, &known) {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // ancestor and descendant: not siblings
            }
            edges
                .entry(from[..common].to_vec())
                .or_default()
                .insert((from[common].clone(), to[common].clone()));
        }
    }
    let mut cycles = Vec::new();
    for (parent, es) in edges {
        let nodes: BTreeSet<&String> = es.iter().flat_map(|(a, b)| [a, b]).collect();
        for start in &nodes {
            // Is `start` reachable from itself?
            let mut stack: Vec<&String> = es
                .iter()
                .filter(|(a, _)| a == *start)
                .map(|(_, b)| b)
                .collect();
            let mut seen = BTreeSet::new();
            while let Some(n) = stack.pop() {
                if n == *start {
                    cycles.push(format!("{}::{start} is in a cycle", parent.join("::")));
                    break;
                }
                if seen.insert(n) {
                    stack.extend(es.iter().filter(|(a, _)| a == n).map(|(_, b)| b));
                }
            }
        }
    }
    cycles
}

#[test]
fn no_import_cycles_between_sibling_modules() {
    let mut bad = Vec::new();
    for krate in ["src", "shards/src", "io/src"] {
        let files: Vec<(String, String)> = sources(krate)
            .into_iter()
            .map(|s| (s.path[krate.len() + 1..].to_owned(), s.text))
            .filter(|(p, _)| p != "main.rs")
            .collect();
        bad.extend(
            sibling_cycles(&files)
                .into_iter()
                .map(|c| format!("{krate}: {c}")),
        );
    }
    assert!(bad.is_empty(), "import cycles:\n{}", bad.join("\n"));
}

#[test]
fn the_cycle_checker_finds_a_cycle() {
    let files = vec![
        ("lib.rs".to_owned(), "mod a; mod b;".to_owned()),
        ("a.rs".to_owned(), "use crate::b::X;".to_owned()),
        ("b.rs".to_owned(), "use crate::a::Y;".to_owned()),
        ("c/mod.rs".to_owned(), "use d::Z;".to_owned()),
        ("c/d.rs".to_owned(), "use super::W;".to_owned()),
    ];
    let cycles = sibling_cycles(&files);
    assert!(cycles.iter().any(|c| c.contains("::a")), "{cycles:?}");
    assert!(
        !cycles.iter().any(|c| c.contains("d ")),
        "parent and child are no cycle: {cycles:?}"
    );
}

#[test]
fn source_files_stay_small() {
    let big: Vec<String> = all_sources()
        .into_iter()
        .filter(|s| s.text.lines().count() > 600)
        .map(|s| format!("{}: {} lines", s.path, s.text.lines().count()))
        .collect();
    assert!(big.is_empty(), "files over 600 lines:\n{}", big.join("\n"));
}
