//! A seeded generator of valid IDL (issue #11): random schemas of several files with includes,
//! typedef chains, every base type, nested containers (also as map keys and set elements),
//! every requiredness × type × default combination, unions, exceptions, enums (empty,
//! aliased, negative, hex), constants of every type, recursion (direct, mutual, through
//! containers), services extending across files, oneway, throws, annotations, doc comments,
//! and names that are keywords in Rust, C or C++ or collide with what back ends generate.
//!
//! Every struct, union and exception gets `SAMPLE_*` constants: random values that the tests
//! round-trip through the Rust and the C code generated for the schema. Used by `build.rs`;
//! it names generated items with idlc's own escaping functions.

use std::collections::BTreeSet;
use std::fmt::Write;

/// splitmix64: small, seedable, good enough to pick shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One generated schema: its files (the last one is the root) and what to test.
pub struct Schema {
    /// `(file name, text)`; the root includes the others.
    pub files: Vec<(String, String)>,
    pub root_stem: String,
    pub samples: Vec<Sample>,
}

/// A `SAMPLE_*` constant of a struct type.
pub struct Sample {
    /// The Rust module (inside the schema's module) and C prefix of the file defining it.
    pub rust_module: String,
    pub const_name: String,
    /// The type's name escaped as the Rust back end escapes it.
    pub rust_type: String,
    pub rust_const: String,
    pub c_type: String,
    pub c_const: String,
}

const BASE_TYPES: &[&str] = &[
    "bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary", "uuid", "u8", "u16",
    "u32", "u64", "f32",
];

/// Names that are keywords or reserved in Rust, C or C++, or that the back ends use for what
/// they generate (client methods, view modules, presence flags, `_start` variants, prelude
/// and std names).
const TYPE_NAMES: &[&str] = &[
    "views",
    "Self",
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Default",
    "int",
    "class",
    "template",
    "new",
    "delete",
    "operator",
    "Client",
    "Pending",
    "Context",
    "type",
    "match",
    "std",
    "core",
    "ferry",
    "Other",
    "Unknown",
    "Error",
    "Message",
    "View",
    "Encode",
    "this",
    "private",
    "register",
    "FILE",
    "size_t",
    "Server",
    "Service",
    "Some",
    "None",
    "Ok",
    "Err",
    "char",
    "long",
    "signed",
    "static",
    "ferry_str",
    "Ordering",
    "Point",
    "Node",
    "Tree",
];
const FIELD_NAMES: &[&str] = &[
    "type",
    "match",
    "self",
    "Self",
    "new",
    "inner",
    "value",
    "x",
    "x_start",
    "default",
    "int",
    "class",
    "ptr",
    "len",
    "count",
    "which",
    "has_x",
    "items",
    "keys",
    "values",
    "_marker",
    "r",
    "w",
    "f",
    "v",
    "out",
    "bytes",
    "options",
    "ctx",
    "errno",
    "EOF",
    "NULL",
    "template",
    "this",
    "delete",
    "operator",
    "super",
    "crate",
    "await",
    "dyn",
    "ref",
    "mut",
    "where",
    "loop",
    "try",
    "yield",
    "box",
    "final",
    "override",
    "virtual",
    "mutable",
    "private",
    "public",
    "friend",
    "explicit",
    "typename",
    "using",
    "nullptr",
    "constexpr",
    "decltype",
    "and",
    "or",
    "not",
    "xor",
    "id",
    "name",
    "next",
    "success",
    "char",
    "auto",
    "static",
    "union_",
    "Some",
];
const METHOD_NAMES: &[&str] = &[
    "new",
    "inner",
    "get",
    "get_start",
    "start",
    "call",
    "ping",
    "x",
    "x_start",
    "options",
    "wait",
    "connect",
    "serve",
    "self",
    "type",
    "match",
    "drop",
    "clone",
    "default",
    "fmt",
    "class",
    "delete",
    "into",
    "from",
    "init",
    "encode",
    "decode",
    "run",
    "stop",
    "Self",
];
const ENUM_VALUES: &[&str] = &[
    "Other", "Unknown", "A", "B", "None", "Some", "Ok", "Err", "Default", "type", "self", "Self",
    "class", "EOF", "NULL", "value", "from", "into", "MAX", "ZERO", "int", "new",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Struct,
    Union,
    Exception,
}

struct StructDef {
    name: String,
    kind: Kind,
    /// Global order: a required struct-typed field only points to a lower rank, so no
    /// cycle of required fields (W0227) can form.
    rank: usize,
    fields: Vec<FieldDef>,
}

struct FieldDef {
    id: i32,
    name: String,
    requiredness: &'static str,
    ty: Ty,
}

#[derive(Clone)]
enum Ty {
    Base(&'static str),
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// (file index, definition index in that file's enums)
    Enum(usize, usize),
    Struct(usize, usize),
    /// A typedef and what it stands for.
    Typedef(usize, usize, Box<Ty>),
}

struct EnumDef {
    name: String,
    values: Vec<(String, i64)>,
}

struct FileGen {
    stem: String,
    rust_module: String,
    c_prefix: String,
    enums: Vec<EnumDef>,
    structs: Vec<StructDef>,
    typedefs: Vec<(String, Ty)>,
    /// (name, type, value text) of plain constants, referable by later constants.
    consts: Vec<(String, String)>,
    /// Service names with their methods' names (for `extends` across files).
    services: Vec<(String, Vec<String>)>,
    taken: BTreeSet<String>,
}

struct Gen {
    rng: Rng,
    files: Vec<FileGen>,
    next_rank: usize,
}

/// Generates schema number `index` of the run seeded `seed`.
pub fn schema(seed: u64, index: usize) -> Schema {
    let mut g = Gen {
        rng: Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index as u64)),
        files: Vec::new(),
        next_rank: 0,
    };
    let nfiles = 1 + g.rng.below(3);
    let mut texts = Vec::new();
    let mut samples = Vec::new();
    for f in 0..nfiles {
        let part = ["base", "mid", "main"][3 - nfiles + f];
        // An included file's name may have dots (`r3.base.thrift`, referred to as
        // `r3.base.Name`); back ends make its modules from it with underscores.
        let dotted = f + 1 < nfiles && g.rng.chance(30);
        let stem = if dotted { format!("r{index}.{part}") } else { format!("r{index}_{part}") };
        let (text, mut s) = g.file(f, stem, index);
        texts.push((format!("{}.thrift", g.files[f].stem), text));
        samples.append(&mut s);
    }
    let root_stem = g.files[nfiles - 1].stem.clone();
    Schema { files: texts, root_stem, samples }
}

impl Gen {
    fn unique(&mut self, file: usize, pool: &[&str]) -> String {
        let base = (*self.rng.pick(pool)).to_owned();
        let mut name = base.clone();
        let mut n = 2;
        while self.files[file].taken.contains(&name) || reserved_c_suffix(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.files[file].taken.insert(name.clone());
        name
    }

    fn file(&mut self, f: usize, stem: String, index: usize) -> (String, Vec<Sample>) {
        let mut out = String::new();
        let _ = writeln!(out, "// Generated by idlc/gen-tests/random_idl.rs (schema {index}).");
        let mut rust_module = stem.replace('.', "_");
        let mut c_prefix = stem.replace('.', "_");
        if self.rng.chance(20) {
            rust_module = format!("{}_rs", stem.replace('.', "_"));
            let _ = writeln!(out, "namespace rs ferry.random.{rust_module}");
        }
        if self.rng.chance(20) {
            c_prefix = format!("{}_c", stem.replace('.', "_"));
            let _ = writeln!(out, "namespace c {c_prefix}");
        } else if self.rng.chance(15) {
            // `*` names the module of every back end without its own entry.
            c_prefix = format!("{}_all", stem.replace('.', "_"));
            if rust_module == stem.replace('.', "_") {
                rust_module = c_prefix.clone();
            }
            let _ = writeln!(out, "namespace * {c_prefix}");
        }
        for earlier in &self.files {
            let _ = writeln!(out, "include \"{}.thrift\"", earlier.stem);
        }
        self.files.push(FileGen {
            stem,
            rust_module,
            c_prefix,
            enums: Vec::new(),
            structs: Vec::new(),
            typedefs: Vec::new(),
            consts: Vec::new(),
            services: Vec::new(),
            taken: BTreeSet::new(),
        });
        out.push('\n');
        self.enums(f, &mut out);
        // Declare the structs first so fields can refer to any of them (recursion, mutual
        // recursion, use before definition).
        let nstructs = 1 + self.rng.below(5);
        for _ in 0..nstructs {
            let kind = match self.rng.below(6) {
                0 => Kind::Union,
                1 => Kind::Exception,
                _ => Kind::Struct,
            };
            let name = self.unique(f, TYPE_NAMES);
            let rank = self.next_rank;
            self.next_rank += 1;
            self.files[f].structs.push(StructDef { name, kind, rank, fields: Vec::new() });
        }
        self.typedefs(f, &mut out);
        // Every field first: a default may hold struct values only when they cannot lead
        // back to its own struct (E0232), which needs the whole file's fields.
        for s in 0..nstructs {
            self.struct_fields(f, s);
        }
        for s in 0..nstructs {
            self.write_struct(f, s, &mut out);
        }
        self.constants(f, &mut out);
        let samples = self.samples(f, &mut out);
        self.services(f, &mut out);
        (out, samples)
    }

    fn annotations(&mut self, out: &mut String) {
        if self.rng.chance(15) {
            let _ = write!(
                out,
                " ({} = \"{}\"{})",
                self.rng.pick(&["cpp.type", "java.final", "deprecated", "go.tag", "x"]),
                self.rng.pick(&["v", "with \\\"quotes\\\"", "", "a, b"]),
                if self.rng.chance(30) { ", second" } else { "" }
            );
        }
    }

    fn doc(&mut self, out: &mut String, indent: &str) {
        match self.rng.below(8) {
            0 => {
                let _ = writeln!(
                    out,
                    "{indent}/** A doc block with `code`, \"quotes\" and a \\ backslash. */"
                );
            }
            1 => {
                let _ = writeln!(
                    out,
                    "{indent}/// A line doc with /* and */ inside, and http://x/*.html"
                );
            }
            2 => {
                let _ = writeln!(out, "{indent}/// Unicode é ✓ and {{braces}} [brackets] #hash");
            }
            _ => {}
        }
    }

    fn enums(&mut self, f: usize, out: &mut String) {
        for _ in 0..self.rng.below(4) {
            let name = self.unique(f, TYPE_NAMES);
            let mut values: Vec<(String, i64)> = Vec::new();
            let mut names = BTreeSet::new();
            let count = if self.rng.chance(15) { 0 } else { 1 + self.rng.below(5) };
            let mut next = 0i64;
            self.doc(out, "");
            let _ = writeln!(out, "enum {name} {{");
            for _ in 0..count {
                let v = fresh(&mut self.rng, ENUM_VALUES, &mut names);
                self.doc(out, "  ");
                // Explicit values (negative, hex, the i32 extremes) or the implicit next one;
                // no alias (W0206 is a warning, and a generated schema checks clean).
                let explicit = match self.rng.below(6) {
                    0 => Some(-(self.rng.below(100) as i64) - 1),
                    1 => Some(next + self.rng.below(1000) as i64),
                    2 => Some(if self.rng.chance(50) {
                        i64::from(i32::MAX)
                    } else {
                        i64::from(i32::MIN)
                    }),
                    _ => None,
                };
                let value = explicit.unwrap_or(next);
                if values.iter().any(|(_, x)| *x == value) || value > i64::from(i32::MAX) {
                    names.remove(&v);
                    continue;
                }
                let _ = write!(out, "  {v}");
                if let Some(x) = explicit {
                    if x >= 0 && self.rng.chance(40) {
                        let _ = write!(out, " = 0x{x:X}");
                    } else {
                        let _ = write!(out, " = {x}");
                    }
                }
                self.annotations(out);
                out.push_str(if self.rng.chance(50) { ",\n" } else { "\n" });
                values.push((v, value));
                next = value + 1;
                if next > i64::from(i32::MAX) {
                    break;
                }
            }
            out.push('}');
            self.annotations(out);
            out.push_str("\n\n");
            self.files[f].enums.push(EnumDef { name, values });
        }
    }

    fn typedefs(&mut self, f: usize, out: &mut String) {
        for _ in 0..self.rng.below(4) {
            let ty = self.ty(f, 2);
            let name = self.unique(f, TYPE_NAMES);
            let _ = write!(out, "typedef {} {name}", self.ty_text(f, &ty));
            self.annotations(out);
            out.push('\n');
            self.files[f].typedefs.push((name, ty));
        }
        out.push('\n');
    }

    /// A random type visible from file `f`, containers nested at most `depth` deep.
    fn ty(&mut self, f: usize, depth: usize) -> Ty {
        loop {
            let choice = self.rng.below(if depth == 0 { 5 } else { 8 });
            match choice {
                0 | 1 => return Ty::Base(BASE_TYPES[self.rng.below(BASE_TYPES.len())]),
                // Structs anywhere a type goes: set elements, map keys, list items.
                7 | 4 if choice == 7 || depth == 0 => {
                    if let Some(t) = self.struct_ty(f) {
                        return t;
                    }
                }
                2 => {
                    let file = self.rng.below(f + 1);
                    if !self.files[file].enums.is_empty() {
                        return Ty::Enum(file, self.rng.below(self.files[file].enums.len()));
                    }
                }
                3 => {
                    let file = self.rng.below(f + 1);
                    if !self.files[file].typedefs.is_empty() {
                        let i = self.rng.below(self.files[file].typedefs.len());
                        let target = self.files[file].typedefs[i].1.clone();
                        return Ty::Typedef(file, i, Box::new(target));
                    }
                }
                4 => return Ty::List(Box::new(self.ty(f, depth - 1))),
                5 => return Ty::Set(Box::new(self.ty(f, depth - 1))),
                _ => {
                    let mut key = self.ty(f, depth - 1);
                    while is_float(&key) {
                        key = self.ty(f, depth - 1);
                    }
                    return Ty::Map(Box::new(key), Box::new(self.ty(f, depth - 1)));
                }
            }
        }
    }

    fn struct_ty(&mut self, f: usize) -> Option<Ty> {
        let file = self.rng.below(f + 1);
        let n = self.files[file].structs.len();
        (n > 0).then(|| Ty::Struct(file, self.rng.below(n)))
    }

    fn ty_text(&self, from: usize, t: &Ty) -> String {
        let qualify = |file: usize, name: &str| {
            if file == from {
                name.to_owned()
            } else {
                format!("{}.{name}", self.files[file].stem)
            }
        };
        match t {
            Ty::Base(b) => (*b).to_owned(),
            Ty::List(e) => format!("list<{}>", self.ty_text(from, e)),
            Ty::Set(e) => format!("set<{}>", self.ty_text(from, e)),
            Ty::Map(k, v) => format!("map<{}, {}>", self.ty_text(from, k), self.ty_text(from, v)),
            Ty::Enum(file, i) => qualify(*file, &self.files[*file].enums[*i].name),
            Ty::Struct(file, i) => qualify(*file, &self.files[*file].structs[*i].name),
            Ty::Typedef(file, i, _) => qualify(*file, &self.files[*file].typedefs[*i].0),
        }
    }

    fn struct_fields(&mut self, f: usize, s: usize) {
        let kind = self.files[f].structs[s].kind;
        let rank = self.files[f].structs[s].rank;
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let count = if self.rng.chance(10) { 0 } else { 1 + self.rng.below(6) };
        let mut fields = Vec::new();
        for i in 0..count {
            let name = fresh(&mut self.rng, FIELD_NAMES, &mut names);
            let id = match self.rng.below(10) {
                0 => 100 + self.rng.below(30000) as i32,
                1 => -1 - self.rng.below(50) as i32,
                2 => 0,
                _ => i as i32 + 1,
            };
            if !ids.insert(id) {
                continue;
            }
            let ty = if self.rng.chance(30) {
                self.struct_ty(f).unwrap_or(Ty::Base("i32"))
            } else if self.rng.chance(10) {
                // Recursion through a container.
                let own = Ty::Struct(f, s);
                if self.rng.chance(50) {
                    Ty::List(Box::new(own))
                } else {
                    Ty::Map(Box::new(Ty::Base("string")), Box::new(own))
                }
            } else {
                self.ty(f, 2)
            };
            let requiredness = if kind == Kind::Union {
                ""
            } else {
                match self.rng.below(3) {
                    0 => "required",
                    1 => "optional",
                    _ => "",
                }
            };
            // A required field leading to a struct of equal or higher rank could close a
            // cycle of required fields: make it optional.
            let requiredness = match self.direct_struct(&ty) {
                Some((tf, ti))
                    if requiredness == "required" && self.files[tf].structs[ti].rank >= rank =>
                {
                    "optional"
                }
                _ => requiredness,
            };
            fields.push(FieldDef { id, name, requiredness, ty });
        }
        self.files[f].structs[s].fields = fields;
    }

    /// Every struct a value of `t` may hold (through containers and typedefs).
    fn structs_in(&self, t: &Ty) -> Vec<(usize, usize)> {
        match t {
            Ty::Base(_) | Ty::Enum(..) => Vec::new(),
            Ty::List(e) | Ty::Set(e) => self.structs_in(e),
            Ty::Map(k, v) => {
                let mut all = self.structs_in(k);
                all.extend(self.structs_in(v));
                all
            }
            Ty::Struct(file, i) => vec![(*file, *i)],
            Ty::Typedef(_, _, target) => self.structs_in(target),
        }
    }

    /// Whether struct `from` holds, at any depth, a struct `to`.
    fn reaches(&self, from: (usize, usize), to: (usize, usize)) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if seen.insert(x) {
                for field in &self.files[x.0].structs[x.1].fields {
                    stack.extend(self.structs_in(&field.ty));
                }
            }
        }
        false
    }

    fn direct_struct(&self, t: &Ty) -> Option<(usize, usize)> {
        match t {
            Ty::Struct(file, i) => Some((*file, *i)),
            Ty::Typedef(_, _, target) => self.direct_struct(target),
            _ => None,
        }
    }

    fn write_struct(&mut self, f: usize, s: usize, out: &mut String) {
        self.doc(out, "");
        let (name, kind) = (self.files[f].structs[s].name.clone(), self.files[f].structs[s].kind);
        let keyword = match kind {
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Exception => "exception",
        };
        let _ = writeln!(out, "{keyword} {name} {{");
        for i in 0..self.files[f].structs[s].fields.len() {
            let (id, fname, req, ty) = {
                let fd = &self.files[f].structs[s].fields[i];
                (fd.id, fd.name.clone(), fd.requiredness, fd.ty.clone())
            };
            self.doc(out, "  ");
            let req = if req.is_empty() { String::new() } else { format!("{req} ") };
            let _ = write!(out, "  {id}: {req}{} {fname}", self.ty_text(f, &ty));
            let endless = self.structs_in(&ty).into_iter().any(|t| self.reaches(t, (f, s)));
            if kind != Kind::Union && !endless && self.rng.chance(30) {
                if let Some(v) = self.value(f, &ty, 2) {
                    let _ = write!(out, " = {v}");
                }
            }
            self.annotations(out);
            out.push_str(match self.rng.below(3) {
                0 => ",\n",
                1 => ";\n",
                _ => "\n",
            });
        }
        out.push('}');
        self.annotations(out);
        out.push_str("\n\n");
    }

    /// A constant value of type `t` as IDL text, nested at most `depth` deep; `None` where
    /// the type has no value to give (an empty enum) or the depth ran out on a struct.
    fn value(&mut self, f: usize, t: &Ty, depth: usize) -> Option<String> {
        Some(match t {
            Ty::Base(b) => {
                if self.rng.chance(15) {
                    if let Some(v) = self.enum_as_integer(f, b) {
                        return Some(v);
                    }
                }
                self.base_value(b)
            }
            Ty::Typedef(tf, ti, target) => {
                // An enum value qualified by the typedef's own name (`typedef E T` … `T.A`).
                if let (Ty::Enum(ef, ei), true) = (&**target, self.rng.chance(40)) {
                    let e = &self.files[*ef].enums[*ei];
                    if !e.values.is_empty() {
                        let (v, _) = e.values[self.rng.below(e.values.len())].clone();
                        let name = &self.files[*tf].typedefs[*ti].0;
                        let prefix = if *tf == f {
                            String::new()
                        } else {
                            format!("{}.", self.files[*tf].stem)
                        };
                        return Some(format!("{prefix}{name}.{v}"));
                    }
                }
                return self.value(f, target, depth);
            }
            Ty::Enum(file, i) => {
                let e = &self.files[*file].enums[*i];
                if e.values.is_empty() {
                    return None;
                }
                let (v, _) = e.values[self.rng.below(e.values.len())].clone();
                // An enum of an include, qualified by its bare name as Apache Thrift allows
                // where that enum is expected (`E.A` for `stem.E`), or by `stem.E`.
                // Only where no definition of this file has (or will take) the name: one
                // that does would be the enum the qualifier names (W0231).
                let name = e.name.clone();
                let bare = *file != f && self.rng.chance(30) && self.files[f].taken.insert(name);
                let e = &self.files[*file].enums[*i];
                let prefix = if *file == f || bare {
                    String::new()
                } else {
                    format!("{}.", self.files[*file].stem)
                };
                format!("{prefix}{}.{v}", e.name)
            }
            Ty::List(e) | Ty::Set(e) => {
                if depth == 0 || self.rng.chance(25) {
                    return Some(if self.rng.chance(50) { "[]".into() } else { "{}".into() });
                }
                let set = matches!(t, Ty::Set(_));
                let mut seen = BTreeSet::new();
                let mut items = Vec::new();
                for _ in 0..1 + self.rng.below(3) {
                    let v = self.value(f, e, depth - 1)?;
                    // Set elements are distinct (by their canonical text).
                    if !set || seen.insert(canonical(&v)) {
                        items.push(v);
                    }
                }
                format!("[{}]", items.join(", "))
            }
            Ty::Map(k, v) => {
                if depth == 0 || self.rng.chance(25) {
                    return Some("{}".into());
                }
                let mut seen = BTreeSet::new();
                let mut entries = Vec::new();
                for _ in 0..1 + self.rng.below(3) {
                    let key = self.value(f, k, depth - 1)?;
                    let value = self.value(f, v, depth - 1)?;
                    if seen.insert(canonical(&key)) {
                        entries.push(format!("{key}: {value}"));
                    }
                }
                format!("{{{}}}", entries.join(", "))
            }
            Ty::Struct(file, i) => {
                if depth == 0 {
                    return None;
                }
                let kind = self.files[*file].structs[*i].kind;
                let fields: Vec<(String, &'static str, Ty)> = self.files[*file].structs[*i]
                    .fields
                    .iter()
                    .map(|x| (x.name.clone(), x.requiredness, x.ty.clone()))
                    .collect();
                let mut parts = Vec::new();
                for (name, req, ty) in fields {
                    if kind == Kind::Union && !parts.is_empty() {
                        break;
                    }
                    let give = req == "required"
                        || self.rng.chance(if kind == Kind::Union { 40 } else { 60 });
                    if give {
                        if let Some(v) = self.value(f, &ty, depth - 1) {
                            parts.push(format!("\"{name}\": {v}"));
                        }
                    }
                }
                format!("{{{}}}", parts.join(", "))
            }
        })
    }

    /// A value of an enum visible from `f` whose number fits `b` (`i32`, `i64`), written
    /// as `Enum.VALUE` where an integer belongs.
    fn enum_as_integer(&mut self, f: usize, b: &str) -> Option<String> {
        if !matches!(b, "i32" | "i64") {
            return None;
        }
        let file = self.rng.below(f + 1);
        let enums = &self.files[file].enums;
        let e = enums.get(self.rng.below(enums.len().max(1)))?;
        let (v, _) = e.values.get(self.rng.below(e.values.len().max(1)))?.clone();
        let prefix = if file == f { String::new() } else { format!("{}.", self.files[file].stem) };
        Some(format!("{prefix}{}.{v}", e.name))
    }

    fn base_value(&mut self, b: &str) -> String {
        let r = &mut self.rng;
        let int = |r: &mut Rng, min: i128, max: i128| -> String {
            let v = match r.below(5) {
                0 => min,
                1 => max,
                2 => 0,
                _ => min + (u128::from(r.next()) % ((max - min) as u128 + 1)) as i128,
            };
            if v >= 0 && r.chance(20) {
                format!("0x{v:x}")
            } else {
                v.to_string()
            }
        };
        match b {
            "bool" => (*r.pick(&["true", "false", "0", "1"])).to_owned(),
            "byte" | "i8" => int(r, i128::from(i8::MIN), i128::from(i8::MAX)),
            "i16" => int(r, i128::from(i16::MIN), i128::from(i16::MAX)),
            "i32" => int(r, i128::from(i32::MIN), i128::from(i32::MAX)),
            "i64" => int(r, i128::from(i64::MIN), i128::from(i64::MAX)),
            "u8" => int(r, 0, i128::from(u8::MAX)),
            "u16" => int(r, 0, i128::from(u16::MAX)),
            "u32" => int(r, 0, i128::from(u32::MAX)),
            "u64" => int(r, 0, i128::from(u64::MAX)),
            "double" | "f32" => {
                (*r.pick(&["0.5", "-2.25", "1e10", "-0.0", "3", "1.5e-7", "100.", "-7"])).to_owned()
            }
            "uuid" => {
                let hex: String =
                    (0..32).map(|_| char::from(b"0123456789abcdefABCDEF"[r.below(22)])).collect();
                let dashed = format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                );
                if r.chance(20) {
                    format!("\"{{{dashed}}}\"")
                } else {
                    format!("\"{dashed}\"")
                }
            }
            _ => (*r.pick(&[
                "\"\"",
                "\"plain\"",
                "'single \"quoted\"'",
                "\"tab\\tnew\\nline \\\"q\\\" back\\\\slash\"",
                "\"unicode é ✓ \\u00e9\"",
                "\"/* not a comment */\"",
                "\"{braces}\"",
            ]))
            .to_owned(),
        }
    }

    fn constants(&mut self, f: usize, out: &mut String) {
        for _ in 0..self.rng.below(5) {
            let ty = self.ty(f, 2);
            let Some(mut value) = self.value(f, &ty, 3) else { continue };
            let ty_text = self.ty_text(f, &ty);
            // Sometimes a reference to an earlier constant of the same type, or of a type
            // its value converts to (an `i32` constant, or a `list<i32>`, where `i64`s belong).
            let narrower = ty_text.replace("i64", "i32");
            let earlier = self.files[f]
                .consts
                .iter()
                .find(|(_, t)| *t == ty_text || (narrower != ty_text && *t == narrower));
            if let Some((name, _)) = earlier {
                if self.rng.chance(50) {
                    value = name.clone();
                }
            }
            let name =
                self.unique(f, &["C", "LIMIT", "NAMES", "DEFAULT", "MAX", "new", "type", "EMPTY"]);
            self.doc(out, "");
            let _ = writeln!(out, "const {ty_text} {name} = {value}");
            self.files[f].consts.push((name, ty_text));
        }
        out.push('\n');
    }

    fn samples(&mut self, f: usize, out: &mut String) -> Vec<Sample> {
        let mut samples = Vec::new();
        for s in 0..self.files[f].structs.len() {
            for _ in 0..1 + self.rng.below(2) {
                let Some(value) = self.value(f, &Ty::Struct(f, s), 4) else { continue };
                let file = &self.files[f];
                let type_name = file.structs[s].name.clone();
                let const_name = format!("SAMPLE_{}", samples.len());
                let _ = writeln!(out, "const {type_name} {const_name} = {value}");
                samples.push(Sample {
                    rust_module: rust_ident(&file.rust_module),
                    rust_type: rust_ident(&type_name),
                    rust_const: rust_ident(&const_name),
                    c_type: format!("{}_{}", file.c_prefix, c_ident(&type_name)),
                    c_const: format!("{}_{}", file.c_prefix, c_ident(&const_name)),
                    const_name,
                });
            }
        }
        out.push('\n');
        samples
    }

    fn services(&mut self, f: usize, out: &mut String) {
        for _ in 0..self.rng.below(3) {
            let name = self.unique(f, TYPE_NAMES);
            // Extend a service of this file or an included one.
            let mut base: Option<(usize, usize)> = None;
            if self.rng.chance(50) {
                let file = self.rng.below(f + 1);
                if !self.files[file].services.is_empty() {
                    base = Some((file, self.rng.below(self.files[file].services.len())));
                }
            }
            let mut inherited: BTreeSet<String> = BTreeSet::new();
            if let Some((file, i)) = base {
                // Base services' own bases are in their method lists too.
                inherited.extend(self.files[file].services[i].1.iter().cloned());
            }
            self.doc(out, "");
            let _ = write!(out, "service {name}");
            if let Some((file, i)) = base {
                let base_name = self.files[file].services[i].0.clone();
                let q = if file == f {
                    base_name
                } else {
                    format!("{}.{base_name}", self.files[file].stem)
                };
                let _ = write!(out, " extends {q}");
            }
            out.push_str(" {\n");
            let mut taken = inherited.clone();
            let mut methods: Vec<String> = inherited.iter().cloned().collect();
            // Now and then a service that declares no method of its own (possibly none).
            let own = if self.rng.chance(15) { 0 } else { 1 + self.rng.below(4) };
            for _ in 0..own {
                let m = fresh(&mut self.rng, METHOD_NAMES, &mut taken);
                methods.push(m.clone());
                self.method(f, &m, out);
            }
            out.push('}');
            self.annotations(out);
            out.push_str("\n\n");
            self.files[f].services.push((name, methods));
        }
    }

    fn method(&mut self, f: usize, name: &str, out: &mut String) {
        self.doc(out, "  ");
        let oneway = self.rng.chance(15);
        let ret = if oneway || self.rng.chance(25) {
            "void".to_owned()
        } else if self.rng.chance(40) {
            match self.struct_ty(f) {
                Some(t) => self.ty_text(f, &t),
                None => "i32".into(),
            }
        } else {
            let t = self.ty(f, 2);
            self.ty_text(f, &t)
        };
        let _ = write!(out, "  {}{ret} {name}(", if oneway { "oneway " } else { "" });
        let mut names = BTreeSet::new();
        for i in 0..self.rng.below(5) {
            let p = fresh(&mut self.rng, FIELD_NAMES, &mut names);
            let ty = if self.rng.chance(30) {
                self.struct_ty(f).unwrap_or(Ty::Base("i64"))
            } else {
                self.ty(f, 2)
            };
            let req = *self.rng.pick(&["", "", "optional ", "required "]);
            let _ = write!(
                out,
                "{}{}: {req}{} {p}",
                if i > 0 { ", " } else { "" },
                i + 1,
                self.ty_text(f, &ty)
            );
            if req != "required " && self.rng.chance(25) {
                if let Some(v) = self.value(f, &ty, 2) {
                    let _ = write!(out, " = {v}");
                }
            }
        }
        out.push(')');
        if !oneway && self.rng.chance(40) {
            let exceptions: Vec<(usize, usize)> = (0..=f)
                .flat_map(|file| {
                    self.files[file]
                        .structs
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.kind == Kind::Exception)
                        .map(move |(i, _)| (file, i))
                        .collect::<Vec<_>>()
                })
                .collect();
            if !exceptions.is_empty() {
                out.push_str(" throws (");
                for i in 0..1 + self.rng.below(2) {
                    let (file, e) = exceptions[self.rng.below(exceptions.len())];
                    let text = self.ty_text(f, &Ty::Struct(file, e));
                    let _ = write!(
                        out,
                        "{}{}: {text} {}",
                        if i > 0 { ", " } else { "" },
                        i + 1,
                        ["e", "error", "type", "self"][i]
                    );
                }
                out.push(')');
            }
        }
        match self.rng.below(6) {
            0 => out.push_str(" (ferry.timeout_ms = \"250\")"),
            1 => out.push_str(" (ferry.idempotent = \"true\", x = \"y\")"),
            _ => self.annotations(out),
        }
        out.push_str(",\n");
    }
}

/// A name from `pool` not in `taken` (numbered when the pool's pick is taken), recorded.
fn fresh(rng: &mut Rng, pool: &[&str], taken: &mut BTreeSet<String>) -> String {
    let mut name = (*rng.pick(pool)).to_owned();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{}{n}", rng.pick(pool));
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn is_float(t: &Ty) -> bool {
    match t {
        Ty::Base(b) => matches!(*b, "double" | "f32"),
        Ty::Typedef(_, _, target) => is_float(target),
        _ => false,
    }
}

/// A value's text with equal numbers spelled alike, to keep set elements and map keys
/// distinct (`0x1` and `1`, `1` and `true`).
fn canonical(v: &str) -> String {
    let v = v.trim();
    if let Some(hex) = v.strip_prefix("0x") {
        if let Ok(n) = i128::from_str_radix(hex, 16) {
            return n.to_string();
        }
    }
    match v {
        "true" => "1".into(),
        "false" => "0".into(),
        "-0.0" => "0".into(),
        _ => match v.parse::<f64>() {
            Ok(x) if !v.starts_with('"') && !v.starts_with('\'') => format!("{x}"),
            _ => v.to_owned(),
        },
    }
}

/// Names a C back end derives from others (`X_init`, `X_args`): a definition spelled like
/// one would collide, which the C back end refuses (and says so).
fn reserved_c_suffix(name: &str) -> bool {
    ["_init", "_args", "_result", "_DEFAULTS", "_defaults_", "_WHICH", "_handlers"]
        .iter()
        .any(|s| name.ends_with(s))
}

fn rust_ident(name: &str) -> String {
    ferry_idlc::rust::ident(name)
}

fn c_ident(name: &str) -> String {
    ferry_idlc::c::c_ident(name)
}
