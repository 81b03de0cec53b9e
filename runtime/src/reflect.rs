//! Server reflection (spec/protocol.md § 4.2): every server answers the built-in method
//! `ferry.reflect` with the services it hosts and the IDL they were generated from, so a
//! tool (the `ferry` CLI) can call any method without being given the schema.
//!
//! Generated code embeds each service's [`ServiceSchema`] (idlc's default; opt out with
//! `--no-reflection` or `Builder::reflection(false)`); the reply is encoded here by hand, as
//! the `Reflection` struct of spec/reflect.thrift.

use std::collections::{BTreeMap, HashMap};

use ferry_wire::{DecodeOptions, Encode, StructReader, WireType, Writer};

use crate::service::{HandlerError, Service};

/// The reflection method's name; its id is [`REFLECT_ID`].
pub const REFLECT_METHOD: &str = "ferry.reflect";
/// The reflection method's id (`method_id("ferry.reflect")`), reserved on every server.
pub const REFLECT_ID: u32 = crate::typed::method_id(REFLECT_METHOD);

/// A service's schema as generated code embeds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSchema {
    /// The service's name in its IDL.
    pub name: &'static str,
    /// The [`SchemaFile::name`] of the file that declares it.
    pub file: &'static str,
    /// Its methods by IDL name, inherited ones included.
    pub methods: &'static [&'static str],
    /// The declaring file and every file it includes, directly or not.
    pub files: &'static [SchemaFile],
}

/// One IDL file of a [`ServiceSchema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaFile {
    /// Unique among the schema's files; its stem is the name other files refer to it by.
    pub name: &'static str,
    /// Its text, as compiled.
    pub text: &'static str,
    /// Its includes: the path as written in the `include` statement → the included file's
    /// `name`.
    pub includes: &'static [(&'static str, &'static str)],
}

#[derive(Debug, PartialEq)]
struct Listed {
    name: &'static str,
    file: String,
    methods: &'static [&'static str],
}

#[derive(Debug, PartialEq)]
struct ListedFile {
    name: String,
    text: &'static str,
    includes: BTreeMap<&'static str, String>,
}

/// What a server's reflection reply lists, fixed when the server starts.
#[derive(Debug, PartialEq)]
pub(crate) struct Listing {
    services: Vec<Listed>,
    files: Vec<ListedFile>,
    /// Methods registered by name outside any schema (hand-written handlers).
    unlisted: Vec<&'static str>,
}

impl Listing {
    /// Every schema of `service`, their files merged: a file two schemas share (same name,
    /// same text) is listed once; a different file under a name already taken is renamed
    /// `N/name` (keeping its stem, which includes refer to it by).
    pub(crate) fn of(service: &Service) -> Listing {
        let mut files: Vec<ListedFile> = Vec::new();
        let mut services = Vec::new();
        for schema in &service.schemas {
            // Name in this schema → name in the listing.
            let mut renamed: HashMap<&str, String> = HashMap::new();
            for f in schema.files {
                let mut name = f.name.to_owned();
                let mut n = 1;
                loop {
                    match files.iter().find(|l| l.name == name) {
                        Some(l) if l.text == f.text => break,
                        Some(_) => {
                            n += 1;
                            name = format!("{n}/{}", f.name);
                        }
                        None => {
                            files.push(ListedFile {
                                name: name.clone(),
                                text: f.text,
                                includes: BTreeMap::new(),
                            });
                            break;
                        }
                    }
                }
                renamed.insert(f.name, name);
            }
            for f in schema.files {
                let listed = &renamed[f.name];
                let includes = f
                    .includes
                    .iter()
                    .map(|(written, target)| {
                        (*written, renamed.get(target).cloned().unwrap_or_else(|| (*target).into()))
                    })
                    .collect();
                if let Some(l) = files.iter_mut().find(|l| &l.name == listed) {
                    l.includes = includes;
                }
            }
            let listed = Listed {
                name: schema.name,
                file: renamed.get(schema.file).cloned().unwrap_or_else(|| schema.file.into()),
                methods: schema.methods,
            };
            if !services.contains(&listed) {
                services.push(listed);
            }
        }
        let mut unlisted: Vec<&'static str> = service
            .names
            .iter()
            .filter(|(_, name)| !service.schemas.iter().any(|s| s.methods.contains(name)))
            .map(|(_, name)| *name)
            .collect();
        unlisted.sort_unstable();
        Listing { services, files, unlisted }
    }

    /// The reply to a `ferry.reflect` request: its result struct (spec/reflect.thrift).
    pub(crate) fn reply(&self, request: &[u8]) -> Result<Vec<u8>, HandlerError> {
        let only = only_service(request).map_err(|e| {
            HandlerError::invalid_arguments(format!("malformed ferry.reflect arguments: {e}"))
        })?;
        let services: Vec<&Listed> =
            self.services.iter().filter(|s| only.is_none_or(|o| o == s.name)).collect();
        // With a filter, only the files the chosen services need.
        let files: Vec<&ListedFile> = match only {
            None => self.files.iter().collect(),
            Some(_) => {
                let mut needed: Vec<&str> = services.iter().map(|s| s.file.as_str()).collect();
                let mut i = 0;
                while i < needed.len() {
                    if let Some(f) = self.files.iter().find(|f| f.name == needed[i]) {
                        for target in f.includes.values() {
                            if !needed.contains(&target.as_str()) {
                                needed.push(target);
                            }
                        }
                    }
                    i += 1;
                }
                self.files.iter().filter(|f| needed.contains(&f.name.as_str())).collect()
            }
        };
        let unlisted: &[&str] = if only.is_none() { &self.unlisted } else { &[] };
        Ok(Reply { services: &services, files: &files, unlisted }.encode_to_vec())
    }
}

/// The `only` argument (field 1, optional string); other fields are skipped.
fn only_service(request: &[u8]) -> Result<Option<&str>, ferry_wire::DecodeError> {
    let mut r = StructReader::message(request, &DecodeOptions::DEFAULT)?;
    let mut only = None;
    while let Some(field) = r.next_field()? {
        if field.id == 1 {
            r.expect_wire_type(field, WireType::Bytes)?;
            only = Some(r.read::<&str>(field)?);
        } else {
            r.skip(field)?;
        }
    }
    Ok(only)
}

/// The result struct: field 0 is the `Reflection`.
struct Reply<'l> {
    services: &'l [&'l Listed],
    files: &'l [&'l ListedFile],
    unlisted: &'l [&'static str],
}

impl Encode for Reply<'_> {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(0, WireType::Struct);
        w.delimited(|w| {
            w.key(1, WireType::List);
            w.list_header(WireType::Struct, self.services.len());
            for s in self.services {
                w.delimited(|w| {
                    w.key(1, WireType::Bytes);
                    w.str(s.name);
                    w.key(2, WireType::Bytes);
                    w.str(&s.file);
                    w.key(3, WireType::List);
                    strings(w, s.methods);
                });
            }
            w.key(2, WireType::List);
            w.list_header(WireType::Struct, self.files.len());
            for f in self.files {
                w.delimited(|w| {
                    w.key(1, WireType::Bytes);
                    w.str(&f.name);
                    w.key(2, WireType::Bytes);
                    w.str(f.text);
                    w.key(3, WireType::Map);
                    w.map_header(WireType::Bytes, WireType::Bytes, f.includes.len());
                    // A BTreeMap of strings iterates in byte order: the canonical map order.
                    for (written, target) in &f.includes {
                        w.str(written);
                        w.str(target);
                    }
                });
            }
            w.key(3, WireType::List);
            strings(w, self.unlisted);
        });
    }

    fn encoded_len(&self) -> usize {
        let mut buf = Vec::new();
        self.encode(&mut Writer::new(&mut buf));
        buf.len()
    }
}

fn strings(w: &mut Writer<'_>, items: &[&str]) {
    w.list_header(WireType::Bytes, items.len());
    for s in items {
        w.str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::dynamic::{self, Value};

    const SHARED: SchemaFile =
        SchemaFile { name: "shared.thrift", text: "struct P { 1: i32 x }", includes: &[] };
    const MAIN: SchemaFile = SchemaFile {
        name: "main.thrift",
        text: "include \"shared.thrift\"\nservice A { shared.P get() }",
        includes: &[("shared.thrift", "shared.thrift")],
    };
    const A: ServiceSchema =
        ServiceSchema { name: "A", file: "main.thrift", methods: &["get"], files: &[MAIN, SHARED] };

    fn text(v: &Value<'_>) -> String {
        match v {
            Value::Bytes(b) => String::from_utf8(b.to_vec()).expect("utf-8"),
            other => panic!("not bytes: {other:?}"),
        }
    }

    #[test]
    fn shared_files_are_listed_once_and_clashing_names_renamed_keeping_their_stem() {
        let other_shared =
            SchemaFile { name: "shared.thrift", text: "struct Q { 1: i32 y }", includes: &[] };
        let b_main = SchemaFile {
            name: "b.thrift",
            text: "include \"../lib/shared.thrift\"\nservice B { void f() }",
            includes: &[("../lib/shared.thrift", "shared.thrift")],
        };
        let files: &'static [SchemaFile] = Box::leak(Box::new([b_main, other_shared]));
        let b = ServiceSchema { name: "B", file: "b.thrift", methods: &["f"], files };
        let service = Service::new().schema(A).schema(A).schema(b).name(7, "hand_written");
        let listing = Listing::of(&service);
        let names: Vec<&str> = listing.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["main.thrift", "shared.thrift", "b.thrift", "2/shared.thrift"]);
        assert_eq!(listing.files[2].includes["../lib/shared.thrift"], "2/shared.thrift");
        assert_eq!(listing.services.len(), 2, "A registered twice is listed once");
        assert_eq!(listing.unlisted, ["hand_written"]);
    }

    #[test]
    fn the_reply_is_the_reflection_struct_and_only_narrows_it_to_one_service() {
        let listing = Listing::of(&Service::new().schema(A));
        let reply = listing.reply(&[]).expect("reply");
        let result = dynamic::decode(&reply, &DecodeOptions::DEFAULT).expect("valid");
        let Value::Struct(reflection) = &result.fields[0].1 else { panic!("{result:?}") };
        let ids: Vec<i16> = reflection.fields.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let Value::List { elements, .. } = &reflection.fields[1].1 else { panic!() };
        let Value::Struct(main) = &elements[0] else { panic!() };
        assert_eq!(text(&main.fields[0].1), "main.thrift");
        assert_eq!(text(&main.fields[1].1), MAIN.text);

        // `only = "B"`: a service this server does not have gives an empty reply.
        let mut args = Vec::new();
        let mut w = Writer::new(&mut args);
        w.key(1, WireType::Bytes);
        w.str("B");
        let reply = listing.reply(&args).expect("reply");
        let result = dynamic::decode(&reply, &DecodeOptions::DEFAULT).expect("valid");
        let Value::Struct(reflection) = &result.fields[0].1 else { panic!() };
        for (_, list) in &reflection.fields {
            let Value::List { elements, .. } = list else { panic!() };
            assert!(elements.is_empty(), "{reflection:?}");
        }

        let err = listing.reply(&[0x0b]).expect_err("a key with no value");
        assert!(err.not_run && err.message.contains("malformed ferry.reflect arguments"), "{err}");
    }
}
