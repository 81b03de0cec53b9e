//! Where the CLI's knowledge of a server comes from: IDL files given with `--idl`, or the
//! server's reflection reply compiled in memory; and finding services, methods and types
//! in it by the names a user types.

use std::path::{Path, PathBuf};

use ferry_idlc::model::{DefRef, DefinitionKind, Field, Method, Program, Requiredness, StructKind};
use ferry_idlc::sources::{MemoryFiles, SourceMap};
use ferry_idlc::Compilation;

use crate::json::{closest, Codec, Shape};

/// A checked program and what it was compiled from.
#[derive(Debug)]
pub struct Schema {
    /// The resolved model.
    pub program: Program,
    /// Where it came from, for messages: "--idl calculator.thrift" or "reflection".
    pub origin: String,
}

/// A method found by name, with the service it is called through.
#[derive(Clone, Copy, Debug)]
pub struct MethodRef<'s> {
    /// The service named (which may have inherited the method).
    pub service: DefRef,
    /// The method.
    pub method: &'s Method,
}

/// One file of a server's reflection reply (spec/reflect.thrift `SchemaFile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReflectedFile {
    /// Unique name; its stem is its include name.
    pub name: String,
    /// IDL text.
    pub text: String,
    /// Include as written → `name` of the included file.
    pub includes: Vec<(String, String)>,
}

impl Schema {
    /// Compiles IDL files; the rendered diagnostics if any has an error.
    pub fn from_files(files: &[PathBuf], include_dirs: &[PathBuf]) -> Result<Schema, String> {
        let compilation = ferry_idlc::compile(files, include_dirs).map_err(|e| e.to_string())?;
        let origin = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        Self::checked(compilation, format!("--idl {origin}"))
    }

    /// Compiles the files of a reflection reply: `roots` are the files declaring services.
    pub fn from_reflection(files: &[ReflectedFile], roots: &[String]) -> Result<Schema, String> {
        let mut memory = MemoryFiles::default();
        for f in files {
            memory.files.insert(f.name.clone(), f.text.clone());
            for (written, target) in &f.includes {
                memory.includes.insert((f.name.clone(), written.clone()), target.clone());
            }
        }
        let mut sources = SourceMap::default();
        for root in roots {
            let Some(text) = memory.files.get(root) else {
                return Err(format!(
                    "the server's reflection lists a service in `{root}` but not the file"
                ));
            };
            sources.add_root_from(Path::new(root), text.clone(), &memory);
        }
        let compilation = ferry_idlc::check_sources(sources);
        Self::checked(compilation, "the server's reflection".into())
    }

    fn checked(compilation: Compilation, origin: String) -> Result<Schema, String> {
        match compilation.model() {
            Some(program) => Ok(Schema { program, origin }),
            None => {
                Err(format!("the IDL from {origin} has errors:\n{}", compilation.render_plain()))
            }
        }
    }

    /// Every service, by name, in file order.
    pub fn services(&self) -> Vec<(DefRef, &str)> {
        let mut out = Vec::new();
        for (file, f) in self.program.files.iter().enumerate() {
            for (index, d) in f.definitions.iter().enumerate() {
                if matches!(d.kind, DefinitionKind::Service { .. }) {
                    out.push((DefRef { file, index }, d.name.as_str()));
                }
            }
        }
        out
    }

    /// A service's methods, inherited ones first (base-most first).
    pub fn methods(&self, service: DefRef) -> Vec<&Method> {
        let mut chain = Vec::new();
        let mut next = Some(service);
        while let Some(r) = next {
            if chain.contains(&r) {
                break;
            }
            chain.push(r);
            next = match &self.program.definition(r).kind {
                DefinitionKind::Service { extends, .. } => *extends,
                _ => None,
            };
        }
        chain
            .iter()
            .rev()
            .flat_map(|r| match &self.program.definition(*r).kind {
                DefinitionKind::Service { methods, .. } => methods.iter().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// `Service.method`, or a bare `method` that one service alone has.
    pub fn method(&self, name: &str) -> Result<MethodRef<'_>, String> {
        let services = self.services();
        for (r, service) in &services {
            if let Some(method) = name.strip_prefix(service).and_then(|m| m.strip_prefix('.')) {
                let methods = self.methods(*r);
                if let Some(m) = methods.iter().find(|m| m.name == method) {
                    return Ok(MethodRef { service: *r, method: m });
                }
                let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
                let hint = match closest(method, &names) {
                    Some(n) => format!("did you mean `{service}.{n}`?"),
                    None => format!("its methods are {}", names.join(", ")),
                };
                return Err(format!("service `{service}` has no method `{method}`; {hint}"));
            }
        }
        let mut found: Vec<MethodRef<'_>> = Vec::new();
        for (r, _) in &services {
            for m in self.methods(*r) {
                if m.name == name {
                    found.push(MethodRef { service: *r, method: m });
                }
            }
        }
        match found.as_slice() {
            [one] => Ok(*one),
            [] => {
                let all: Vec<String> = services
                    .iter()
                    .flat_map(|(r, s)| {
                        self.methods(*r).into_iter().map(move |m| format!("{s}.{}", m.name))
                    })
                    .collect();
                let refs: Vec<&str> = all.iter().map(String::as_str).collect();
                // A bare name is compared with bare names.
                let bare: Vec<&str> =
                    all.iter().map(|q| q.split_once('.').map_or(q.as_str(), |(_, m)| m)).collect();
                let near = closest(name, &refs).or_else(|| {
                    let m = closest(name, &bare)?;
                    refs.iter().find(|q| q.ends_with(&format!(".{m}"))).map(|q| (*q).to_owned())
                });
                let hint = match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None if all.is_empty() => format!("{} declares no services", self.origin),
                    None => format!("`ferry list` shows the methods ({})", self.origin),
                };
                Err(format!("no method `{name}`; {hint}"))
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|m| format!("{}.{name}", self.program.definition(m.service).name))
                    .collect();
                Err(format!(
                    "`{name}` is in several services: say which, as {}",
                    names.join(" or ")
                ))
            }
        }
    }

    /// A struct, union or exception by name: `Work`, or `calculator.Work` to pick a file.
    pub fn struct_named(&self, name: &str) -> Result<DefRef, String> {
        let (file, bare) = match name.rsplit_once('.') {
            Some((f, n)) if self.program.files.iter().any(|x| x.include_name == f) => (Some(f), n),
            _ => (None, name),
        };
        let mut found = Vec::new();
        let mut names = Vec::new();
        for (i, f) in self.program.files.iter().enumerate() {
            if file.is_some_and(|x| x != f.include_name) {
                continue;
            }
            for (index, d) in f.definitions.iter().enumerate() {
                if matches!(d.kind, DefinitionKind::Struct { .. }) {
                    names.push(d.name.clone());
                    if d.name == bare {
                        found.push((DefRef { file: i, index }, f.include_name.clone()));
                    }
                }
            }
        }
        match found.as_slice() {
            [(r, _)] => Ok(*r),
            [] => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let hint = closest(bare, &refs).map_or_else(
                    || format!("the structs are {}", refs.join(", ")),
                    |n| format!("did you mean `{n}`?"),
                );
                Err(format!("no struct, union or exception `{name}`; {hint}"))
            }
            many => {
                let names: Vec<String> = many.iter().map(|(_, f)| format!("{f}.{bare}")).collect();
                Err(format!(
                    "`{bare}` is defined in several files: say which, as {}",
                    names.join(" or ")
                ))
            }
        }
    }

    /// A method's signature as the IDL would write it.
    pub fn signature(&self, m: &Method) -> String {
        let codec = Codec::new(&self.program);
        let fields = |fs: &[Field]| {
            fs.iter()
                .map(|f| {
                    let req = match f.requiredness {
                        Requiredness::Required => "required ",
                        Requiredness::Optional => "optional ",
                        Requiredness::Default => "",
                    };
                    format!("{}: {req}{} {}", f.id, codec.type_name(&f.ty), f.name)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ret = m.returns.as_ref().map_or_else(|| "void".to_owned(), |t| codec.type_name(t));
        let mut s = format!(
            "{}{ret} {}({})",
            if m.oneway { "oneway " } else { "" },
            m.name,
            fields(&m.params)
        );
        if !m.throws.is_empty() {
            s.push_str(&format!(" throws ({})", fields(&m.throws)));
        }
        s
    }
}

/// The shape of a method's arguments struct.
pub fn args_shape(m: &Method) -> Shape<'_> {
    Shape { fields: &m.params, kind: StructKind::Struct, owner: None }
}

/// Which services declare methods, for a reflection reply's roots.
pub fn roots_of(services: &[(String, String)]) -> Vec<String> {
    let mut roots: Vec<String> = Vec::new();
    for (_, file) in services {
        if !roots.contains(file) {
            roots.push(file.clone());
        }
    }
    roots
}
