//! Loading files: the root files, then every include, found relative to the including file
//! and then along the `-I` search path. Cycles are reported, not followed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostics::Problem;
use crate::span::{FileId, Span};
use crate::syntax::ast::{Document, Header};
use crate::syntax::parser::parse;

/// One loaded file: its text, its syntax tree, and the problems found in it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path it was read from.
    pub path: PathBuf,
    /// The name other files use to refer to it: `shared` for `include "shared.thrift"`.
    pub include_name: String,
    /// Its text.
    pub text: String,
    /// Its syntax tree (complete even when the text has errors).
    pub document: Document,
    /// Resolved includes: (include name, file) in declaration order.
    pub includes: Vec<(String, FileId)>,
    /// The same includes by the path as written in the `include` statement.
    pub include_paths: Vec<(String, FileId)>,
    /// What is wrong in it.
    pub problems: Vec<Problem>,
}

/// Every file of one compilation, indexed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    /// The files, roots first in the order given, then includes as found.
    pub files: Vec<SourceFile>,
    by_path: HashMap<PathBuf, FileId>,
    /// Root files, in the order given.
    pub roots: Vec<FileId>,
}

/// A file that could not be read: an I/O error, not a problem in the IDL.
#[derive(Debug)]
pub struct LoadError {
    /// The file that could not be read.
    pub path: PathBuf,
    /// Why.
    pub error: std::io::Error,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for LoadError {}

/// Where the files named by `include` statements come from.
pub trait Includes {
    /// The file that `include` (as written in the file at `from`) names: its path and
    /// text, or every place searched for it.
    fn resolve(&self, from: &Path, include: &str) -> Result<(PathBuf, String), Vec<String>>;
}

/// Includes found relative to the including file's folder, then along a search path.
#[derive(Debug)]
pub struct SearchPath<'a>(pub &'a [PathBuf]);

impl Includes for SearchPath<'_> {
    fn resolve(&self, from: &Path, include: &str) -> Result<(PathBuf, String), Vec<String>> {
        let base = from.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut candidates = vec![base.join(include)];
        candidates.extend(self.0.iter().map(|d| d.join(include)));
        let Some(found) = candidates.iter().find(|c| c.is_file()).cloned() else {
            return Err(candidates.iter().map(|c| c.display().to_string()).collect());
        };
        match std::fs::read_to_string(&found) {
            Ok(text) => Ok((found, text)),
            Err(_) => Err(vec![found.display().to_string()]),
        }
    }
}

/// Files held in memory (a server's reflection reply): each by a unique name, and each
/// file's includes mapped from the path as written to another file's name.
#[derive(Debug, Default)]
pub struct MemoryFiles {
    /// name → text.
    pub files: HashMap<String, String>,
    /// (including file's name, include as written) → included file's name.
    pub includes: HashMap<(String, String), String>,
}

impl Includes for MemoryFiles {
    fn resolve(&self, from: &Path, include: &str) -> Result<(PathBuf, String), Vec<String>> {
        let from = from.to_string_lossy().into_owned();
        let searched = || vec![format!("{include} (as mapped for {from})")];
        let name = self.includes.get(&(from.clone(), include.to_owned())).ok_or_else(searched)?;
        let text = self.files.get(name).ok_or_else(searched)?;
        Ok((PathBuf::from(name), text.clone()))
    }
}

impl SourceMap {
    /// Adds a file given as text (tests, build scripts); includes resolve against `path`'s
    /// folder and `include_dirs`.
    pub fn add_root_text(&mut self, path: &Path, text: String, include_dirs: &[PathBuf]) -> FileId {
        self.add_root_from(path, text, &SearchPath(include_dirs))
    }

    /// Adds a file given as text, its includes resolved by `includes`.
    pub fn add_root_from(&mut self, path: &Path, text: String, includes: &dyn Includes) -> FileId {
        if let Some(&id) = self.by_path.get(&canonical(path)) {
            self.roots.push(id);
            return id;
        }
        let id = self.insert(path.to_path_buf(), text);
        self.roots.push(id);
        self.load_includes(id, includes, &mut vec![id]);
        id
    }

    /// Reads and adds a root file and everything it includes.
    pub fn add_root(&mut self, path: &Path, include_dirs: &[PathBuf]) -> Result<FileId, LoadError> {
        let key = canonical(path);
        if let Some(&id) = self.by_path.get(&key) {
            self.roots.push(id);
            return Ok(id);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| LoadError { path: path.to_path_buf(), error })?;
        Ok(self.add_root_text(path, text, include_dirs))
    }

    fn insert(&mut self, path: PathBuf, text: String) -> FileId {
        let mut problems = Vec::new();
        let document = parse(&text, &mut problems);
        let include_name =
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let id = self.files.len();
        self.by_path.insert(canonical(&path), id);
        self.files.push(SourceFile {
            path,
            include_name,
            text,
            document,
            includes: Vec::new(),
            include_paths: Vec::new(),
            problems,
        });
        id
    }

    /// Loads the includes of `file` depth-first; `stack` is the chain of files being loaded.
    fn load_includes(&mut self, file: FileId, resolver: &dyn Includes, stack: &mut Vec<FileId>) {
        let includes: Vec<(String, Span)> = self.files[file]
            .document
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Include { path, span } => Some((path.clone(), *span)),
                _ => None,
            })
            .collect();
        for (include, span) in includes {
            let (found, text) = match resolver.resolve(&self.files[file].path, &include) {
                Ok(found) => found,
                Err(searched) => {
                    self.files[file].problems.push(Problem::IncludeNotFound {
                        path: include,
                        searched,
                        span,
                    });
                    continue;
                }
            };
            let key = canonical(&found);
            let target = match self.by_path.get(&key) {
                Some(&existing) => {
                    if let Some(pos) = stack.iter().position(|&f| f == existing) {
                        let mut chain: Vec<String> = stack[pos..]
                            .iter()
                            .map(|&f| self.files[f].path.display().to_string())
                            .collect();
                        chain.push(self.files[existing].path.display().to_string());
                        self.files[file].problems.push(Problem::IncludeCycle {
                            path: include,
                            chain,
                            span,
                        });
                        continue;
                    }
                    existing
                }
                None => {
                    let id = self.insert(found, text);
                    stack.push(id);
                    self.load_includes(id, resolver, stack);
                    stack.pop();
                    id
                }
            };
            let name = self.files[target].include_name.clone();
            self.files[file].includes.push((name, target));
            self.files[file].include_paths.push((include, target));
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
