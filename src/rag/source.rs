//! The `filesystem` source: walks `source.path` and lists the files a pipeline
//! takes. Patterns are globs matched against the path relative to the root and
//! against the base name (upstream matched the base name only, so `docs/*.md`
//! never matched). Exclude beats include; an empty include takes everything.
//! Hidden files and directories, `kektor_data`, `temp_rag_data` and the database's
//! own files (`.aof`, `.kdb`, `.tmp`) are skipped, as upstream; symbolic links to
//! directories are not followed (no loops).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::error::RagError;
use crate::limits::{RAG_DEPTH_MAX, RAG_FILES_MAX};

/// A file found by a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative to the root, with `/` separators.
    pub rel: String,
    pub abs: PathBuf,
    pub size: u64,
    /// Modification time, unix nanoseconds.
    pub mtime_ns: i64,
}

/// Which files a pipeline takes.
pub struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Filter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter, RagError> {
        let set = |pats: &[String]| -> Result<GlobSet, RagError> {
            let mut b = GlobSetBuilder::new();
            for p in pats {
                b.add(Glob::new(p).map_err(|e| RagError::Config(format!("pattern '{p}': {e}")))?);
            }
            b.build().map_err(|e| RagError::Config(e.to_string()))
        };
        Ok(Filter {
            include: (!include.is_empty()).then(|| set(include)).transpose()?,
            exclude: set(exclude)?,
        })
    }

    pub fn takes(&self, rel: &str) -> bool {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let hit = |s: &GlobSet| s.is_match(rel) || s.is_match(base);
        if hit(&self.exclude) {
            return false;
        }
        self.include.as_ref().is_none_or(hit)
    }
}

fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || name == "kektor_data" || name == "temp_rag_data"
}

fn skipped_file(name: &str) -> bool {
    name.starts_with('.')
        || [".aof", ".kdb", ".tmp"]
            .iter()
            .any(|x| name.to_ascii_lowercase().ends_with(x))
}

/// Lists the files under `root` that `filter` takes, sorted by relative path.
/// A missing or unreadable root is an error (so a scan never mistakes an
/// unmounted folder for "every file deleted"); unreadable subfolders are
/// returned in `unreadable` with their reasons.
pub fn scan(root: &Path, filter: &Filter) -> Result<Scan, RagError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| RagError::Config(format!("source.path {}: {e}", root.display())))?;
    if !meta.is_dir() {
        return Err(RagError::Config(format!(
            "source.path {} is not a directory",
            root.display()
        )));
    }
    let mut out = Scan::default();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if depth == 0 => {
                return Err(RagError::Config(format!(
                    "source.path {}: {e}",
                    root.display()
                )))
            }
            Err(e) => {
                out.unreadable.push((prefix.clone(), e.to_string()));
                continue;
            }
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if skipped_dir(&name) {
                    continue;
                }
                if depth + 1 > RAG_DEPTH_MAX {
                    out.unreadable
                        .push((rel, format!("deeper than {RAG_DEPTH_MAX} folders")));
                    continue;
                }
                stack.push((e.path(), rel, depth + 1));
                continue;
            }
            if skipped_file(&name) || !filter.takes(&rel) {
                continue;
            }
            // Regular files and symbolic links to files.
            let Ok(m) = std::fs::metadata(e.path()) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            if out.files.len() >= RAG_FILES_MAX {
                out.truncated = true;
                continue;
            }
            let mtime_ns = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            out.files.push(FileEntry {
                rel,
                abs: e.path(),
                size: m.len(),
                mtime_ns,
            });
        }
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<FileEntry>,
    /// Subfolders that could not be listed, with why.
    pub unreadable: Vec<(String, String)>,
    /// More than [`RAG_FILES_MAX`] files matched; the rest were left out.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    //! Patterns on relative paths, skip rules, and a missing root.
    use super::*;

    #[test]
    fn patterns_match_relative_paths_and_base_names() {
        let f = Filter::new(&["docs/*.md".into(), "*.txt".into()], &["**/draft*".into()]).unwrap();
        assert!(f.takes("docs/a.md"));
        assert!(!f.takes("other/a.md"));
        assert!(f.takes("deep/x/y.txt"));
        assert!(!f.takes("docs/draft1.md"));
        let all = Filter::new(&[], &[]).unwrap();
        assert!(all.takes("anything.bin"));
    }

    #[test]
    fn scan_skips_hidden_and_database_files() {
        let dir = std::env::temp_dir().join(format!("kektor-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for p in [
            "a.md",
            "sub/b.txt",
            ".hidden/c.md",
            "kektor_data/d.md",
            "e.aof",
            ".f",
        ] {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        let s = scan(&dir, &Filter::new(&[], &[]).unwrap()).unwrap();
        let rels: Vec<&str> = s.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["a.md", "sub/b.txt"]);
        assert!(s.files[0].mtime_ns > 0 && s.files[0].size == 1);
        assert!(scan(&dir.join("missing"), &Filter::new(&[], &[]).unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
