//! Generated services: argument and result types, the `Server` trait, `service()`, clients.

use super::*;

impl<'p> Gen<'p> {
    /// Every method of a service, inherited ones first (base-most first).
    pub(super) fn all_methods(&self, r: DefRef) -> Vec<(DefRef, &'p Method)> {
        let mut chain = Vec::new();
        let mut current = Some(r);
        let mut seen = HashSet::new();
        while let Some(s) = current {
            if !seen.insert(s) {
                break;
            }
            chain.push(s);
            current = match &self.def(s).kind {
                DefinitionKind::Service { extends, .. } => *extends,
                _ => None,
            };
        }
        chain
            .iter()
            .rev()
            .flat_map(|s| match &self.def(*s).kind {
                DefinitionKind::Service { methods, .. } => {
                    methods.iter().map(move |m| (*s, m)).collect::<Vec<_>>()
                }
                _ => Vec::new(),
            })
            .collect()
    }

    pub(super) fn service(&self, out: &mut String, file: usize, r: DefRef, d: &Definition) {
        let svc = ident(&d.name);
        let methods = self.all_methods(r);
        doc(out, &d.doc);
        let _ = writeln!(out, "pub mod {svc} {{");
        // Wire types of arguments and results.
        // Inherited methods reuse the types generated in their own service's module.
        for (_, m) in methods.iter().filter(|(owner, _)| *owner == r) {
            let (args_ty, result_ty) = (derived(&m.name, "_Args"), derived(&m.name, "_Result"));
            if m.borrow {
                let _ = writeln!(
                    out,
                    "/// The zero-copy view of [`{args_ty}`] a `ferry.borrow` handler receives.\npub type {}<'a> = super::{}::{}<'a>;",
                    derived(&m.name, "_ArgsView"),
                    self.views[file],
                    args_view_name(&d.name, &m.name)
                );
            }
            let (dec_args, dec_result) = (
                derived("decode_", &format!("{}_args", m.name)),
                derived("decode_", &format!("{}_result", m.name)),
            );
            let _ = writeln!(
                out,
                "pub const {}: u32 = {RT}::method_id({});",
                id_const(&m.name),
                lit_str(&m.name)
            );
            // Args struct.
            let _ = writeln!(out, "#[doc(hidden)] #[derive(Clone, Debug, PartialEq, Default)] pub struct {args_ty} {{");
            for p in &m.params {
                let _ = writeln!(out, "pub {}: {},", ident(&p.name), self.param_ty(p, file));
            }
            out.push_str("}\n");
            let _ = writeln!(
                out,
                "impl {W}::Encode for {args_ty} {{ fn encode(&self, w: &mut {W}::Writer<'_>) {{"
            );
            // An optional argument is an `Option` and written only when set.
            let bind = |p: &Field| {
                if p.requiredness == Requiredness::Optional {
                    format!("if let ::core::option::Option::Some(v) = &self.{}", ident(&p.name))
                } else {
                    format!("{{ let v = &self.{};", ident(&p.name))
                }
            };
            for p in in_id_order(&m.params) {
                let open = bind(p);
                let open = if open.starts_with("if") { format!("{open} {{") } else { open };
                let _ = writeln!(
                    out,
                    "{open} w.key({}, {W}::WireType::{}); {} }}",
                    p.id,
                    self.wire_type(&p.ty),
                    self.encode_value(&p.ty, "v", 0)
                );
            }
            out.push_str("}\nfn encoded_len(&self) -> usize { let mut n = 0usize;");
            for p in in_id_order(&m.params) {
                let open = bind(p);
                let open = if open.starts_with("if") { format!("{open} {{") } else { open };
                let _ = write!(
                    out,
                    "{open} n += {W}::size::key({}, {W}::WireType::{}) + {}; }}",
                    p.id,
                    self.wire_type(&p.ty),
                    self.size_value(&p.ty, "v", 0)
                );
            }
            out.push_str(" n } }\n");
            // Absent arguments take their IDL defaults, as struct fields do.
            let init: Vec<String> = m
                .params
                .iter()
                .map(|p| {
                    let value = match (&p.default, p.requiredness) {
                        (_, Requiredness::Optional) => "::core::option::Option::None".to_owned(),
                        (Some(v), _) => self.value_expr(&p.ty, v, file, Scope::Nested),
                        (None, _) => "::core::default::Default::default()".to_owned(),
                    };
                    format!("{}: {value}", ident(&p.name))
                })
                .collect();
            let init = format!("{args_ty} {{ {} }}", init.join(", "));
            self.decoder_fn(out, &dec_args, &init, &args_ty, &m.params, file);
            // Exceptions enum.
            let exc = self.exception_type(m);
            if !m.throws.is_empty() {
                let _ = writeln!(out, "/// The exceptions `{}` declares.\n#[derive(Clone, Debug, PartialEq)] pub enum {exc} {{", m.name);
                for t in &m.throws {
                    let _ = writeln!(
                        out,
                        "{}({}),",
                        ident(&t.name),
                        self.owned_ty(&t.ty, file, Scope::Nested)
                    );
                }
                out.push_str("}\n");
                // Display shows the exception itself (its own Display), not the wrapper.
                let _ = write!(out, "impl ::core::fmt::Display for {exc} {{ fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {{ match self {{");
                for t in &m.throws {
                    let _ = write!(
                        out,
                        "Self::{}(e) => ::core::fmt::Display::fmt(e, f),",
                        ident(&t.name)
                    );
                }
                let _ = writeln!(out, "}} }} }}\nimpl ::std::error::Error for {exc} {{}}");
                // `Err(NotFound { .. }.into())` and `?` in handlers: one `From` per exception
                // type that the method declares once (two fields of one type would be
                // ambiguous).
                for t in &m.throws {
                    let ty = self.owned_ty(&t.ty, file, Scope::Nested);
                    if m.throws.iter().filter(|o| o.ty == t.ty).count() == 1 {
                        let _ = writeln!(
                            out,
                            "impl ::core::convert::From<{ty}> for {exc} {{ fn from(e: {ty}) -> Self {{ Self::{0}(e) }} }}
                            impl ::core::convert::From<{ty}> for {RT}::ServiceError<{exc}> {{ fn from(e: {ty}) -> Self {{ {RT}::ServiceError::Exception({exc}::{0}(e)) }} }}",
                            ident(&t.name)
                        );
                    }
                }
            }
            // Result: field 0 success, then exceptions, encoded as a struct.
            let ret = m.returns.as_ref().map(|t| self.owned_ty(t, file, Scope::Nested));
            let _ = writeln!(out, "#[doc(hidden)] #[derive(Clone, Debug, PartialEq, Default)] pub struct {result_ty} {{");
            if let Some(ret) = &ret {
                let _ = writeln!(out, "pub success: ::core::option::Option<{ret}>,");
            }
            for t in &m.throws {
                let _ = writeln!(
                    out,
                    "pub {}: ::core::option::Option<{}>,",
                    ident(&t.name),
                    self.owned_ty(&t.ty, file, Scope::Nested)
                );
            }
            out.push_str("}\n");
            let _ = writeln!(
                out,
                "impl {W}::Encode for {result_ty} {{ fn encode(&self, w: &mut {W}::Writer<'_>) {{"
            );
            if let Some(t) = &m.returns {
                let _ = writeln!(out, "if let ::core::option::Option::Some(v) = &self.success {{ w.key(0, {W}::WireType::{}); {} }}", self.wire_type(t), self.encode_value(t, "v", 0));
            }
            for t in &m.throws {
                let _ = writeln!(out, "if let ::core::option::Option::Some(v) = &self.{} {{ w.key({}, {W}::WireType::Struct); w.message(v); }}", ident(&t.name), t.id);
            }
            out.push_str("}\nfn encoded_len(&self) -> usize { let mut n = 0usize;");
            if let Some(t) = &m.returns {
                let _ = write!(out, "if let ::core::option::Option::Some(v) = &self.success {{ n += {W}::size::key(0, {W}::WireType::{}) + {}; }}", self.wire_type(t), self.size_value(t, "v", 0));
            }
            for t in &m.throws {
                let _ = write!(out, "if let ::core::option::Option::Some(v) = &self.{} {{ n += {W}::size::key({}, {W}::WireType::Struct) + {W}::size::delimited({W}::Encode::encoded_len(v)); }}", ident(&t.name), t.id);
            }
            out.push_str(" n } }\n");
            let result_fields = m.result_fields();
            let init = format!("{result_ty}::default()");
            self.decoder_fn(out, &dec_result, &init, &result_ty, &result_fields, file);
        }
        // Server trait.
        let _ = writeln!(
            out,
            "/// Implement this to serve `{}`; register it with [`service`].",
            d.name
        );
        let _ = writeln!(
            out,
            "pub trait Server: ::core::marker::Send + ::core::marker::Sync + 'static {{"
        );
        for (owner, m) in &methods {
            let here = self.service_prefix(*owner, r);
            doc(out, &m.doc);
            let params: Vec<String> = if m.borrow {
                // `ferry.borrow`: the arguments' zero-copy view, borrowing from the request.
                vec![format!("args: {here}{}<'_>", derived(&m.name, "_ArgsView"))]
            } else {
                m.params
                    .iter()
                    .map(|p| format!("{}: {}", self.binding(p), self.param_ty(p, file)))
                    .collect()
            };
            let ret = self.returned_ty(m, file);
            let _ = writeln!(
                out,
                "fn {}(&self, ctx: &{RT}::Context{}{}) -> ::core::result::Result<{ret}, {RT}::ServiceError<{}>>;",
                ident(&m.name),
                if params.is_empty() { "" } else { ", " },
                params.join(", "),
                self.exception_type_at(m, &here)
            );
        }
        out.push_str("}\n");
        // Registration.
        let _ = writeln!(out, "/// A runtime `Service` that dispatches to `server`.\npub fn service<S: Server>(server: ::std::sync::Arc<S>) -> {RT}::Service {{ let mut service = {RT}::Service::new();");
        for (owner, m) in &methods {
            let here = self.service_prefix(*owner, r);
            let (result_ty, dec_args) = (
                format!("{here}{}", derived(&m.name, "_Result")),
                format!("{here}{}", derived("decode_", &format!("{}_args", m.name))),
            );
            let args: Vec<String> = if m.borrow {
                vec!["args".to_owned()]
            } else {
                m.params.iter().map(|p| format!("args.{}", ident(&p.name))).collect()
            };
            let dec_args = if m.borrow {
                format!("{W}::decode_view::<{here}{}<'_>>", derived(&m.name, "_ArgsView"))
            } else {
                dec_args
            };
            // Called through the trait: a method named `into` or `clone` must not resolve to
            // a std method of `Arc`.
            let call = format!(
                "<S as Server>::{}(&*s, ctx{}{})",
                ident(&m.name),
                if args.is_empty() { "" } else { ", " },
                args.join(", ")
            );
            let arms = self.result_arms(m, &here, &result_ty);
            let _ = writeln!(
                out,
                "{{ let s = ::std::sync::Arc::clone(&server); service = service.method({here}{}, move |ctx, req| {{
                    let args = {dec_args}(req).map_err(|e| {RT}::HandlerError::invalid_arguments(::std::format!(\"malformed arguments: {{e}}\")))?;
                    let result = match {call} {{ {arms} }};
                    ::core::result::Result::Ok({W}::Encode::encode_to_vec(&result))
                }}); }}",
                id_const(&m.name)
            );
            let _ = writeln!(
                out,
                "service = service.name({here}{id}, {:?}).oneway({here}{id}, {});",
                m.name,
                m.oneway,
                id = id_const(&m.name)
            );
        }
        if self.reflection {
            out.push_str("service = service.schema(SCHEMA);");
        }
        out.push_str("service }\n");
        self.async_server(out, file, r, d, &methods);
        if self.reflection {
            let files: Vec<String> = self
                .include_closure(file)
                .into_iter()
                .map(|f| {
                    format!("{}{}", self.prefix(f, file, Scope::Nested), self.schema_consts[f])
                })
                .collect();
            let names: Vec<String> = methods.iter().map(|(_, m)| lit_str(&m.name)).collect();
            let _ = writeln!(
                out,
                "/// This service's IDL, for server reflection (`ferry.reflect`).\npub const SCHEMA: {RT}::ServiceSchema = {RT}::ServiceSchema {{ name: {}, file: {}, methods: &[{}], files: &[{}] }};",
                lit_str(&d.name),
                lit_str(&self.schema_names[file]),
                names.join(", "),
                files.join(", ")
            );
        }
        let names: String = methods
            .iter()
            .map(|(owner, m)| {
                format!(
                    "inner.name_method({}{}, {:?});",
                    self.service_prefix(*owner, r),
                    id_const(&m.name),
                    m.name
                )
            })
            .collect();
        // Client.
        let _ = writeln!(
            out,
            "/// A typed client for `{}`: methods read like local calls.
            #[derive(Clone, Debug)] pub struct Client {{ inner: ::std::sync::Arc<{RT}::Client> }}
            impl Client {{
                /// Wraps an untyped client (naming this service's methods in its metrics).
                pub fn new(inner: ::std::sync::Arc<{RT}::Client>) -> Self {{ {names} Client {{ inner }} }}
                /// The untyped client underneath.
                pub fn inner(&self) -> &{RT}::Client {{ &self.inner }}",
            d.name
        );
        let client = client_names(methods.iter().map(|(_, m)| m.name.as_str()));
        for (owner, m) in &methods {
            let here = self.service_prefix(*owner, r);
            let (mname, start) = client[&m.name].clone();
            let (args_ty, dec_result) = (
                format!("{here}{}", derived(&m.name, "_Args")),
                format!("{here}{}", derived("decode_", &format!("{}_result", m.name))),
            );
            let params: Vec<String> = m
                .params
                .iter()
                .map(|p| format!("{}: {}", self.binding(p), self.param_ty(p, file)))
                .collect();
            let inits: Vec<String> = m
                .params
                .iter()
                .map(|p| format!("{}: {}", ident(&p.name), self.binding(p)))
                .collect();
            let ret = self.returned_ty(m, file);
            let exc = self.exception_type_at(m, &here);
            let comma = if params.is_empty() { "" } else { ", " };
            let mut opts = String::from("let mut options = ::core::clone::Clone::clone(options);");
            if let Some(ms) = m.timeout_ms {
                let _ = write!(opts, "if options.deadline.is_none() {{ options.deadline = ::core::option::Option::Some(::std::time::Duration::from_millis({ms})); }}");
            }
            if m.idempotent {
                opts.push_str("options.idempotent = true;");
            }
            if m.oneway {
                opts.push_str("options.oneway = true;");
            }
            let decode_reply = if m.oneway {
                "|_| ::core::result::Result::Ok(())".to_owned()
            } else {
                let mut body = format!("let r = {dec_result}(reply)?;");
                for t in &m.throws {
                    let _ = write!(body, "if let ::core::option::Option::Some(e) = r.{} {{ return ::core::result::Result::Err({RT}::RpcError::Exception({exc}::{}(e))); }}", ident(&t.name), ident(&t.name));
                }
                if m.returns.is_some() {
                    let _ = write!(body, "r.success.ok_or_else(|| {RT}::RpcError::Call({RT}::CallError::BadReply(::std::string::String::from(\"reply has neither a result nor a declared exception\"))))");
                } else {
                    body.push_str("::core::result::Result::Ok(())");
                }
                format!("|reply| {{ {body} }}")
            };
            // The blocking form goes through `Client::call`, whose caller drives the
            // connection while it waits; `_start` hands the call to the I/O thread.
            doc(out, &m.doc);
            let _ = writeln!(
                out,
                "pub fn {mname}(&self{comma}{}) -> ::core::result::Result<{ret}, {RT}::RpcError<{exc}>> {{
                    let options = &{RT}::CallOptions::default();
                    {opts}
                    let args = {args_ty} {{ {} }};
                    let payload = {W}::Encode::encode_to_vec(&args);
                    {RT}::typed::call_method(&self.inner, {}, {here}{}, &payload, &options, {decode_reply})
                }}",
                params.join(", "),
                inits.join(", "),
                lit_str(&m.name),
                id_const(&m.name)
            );
            let _ = writeln!(
                out,
                "/// Starts the call with explicit options; the handle can be waited on or awaited.
                pub fn {}(&self, options: &{RT}::CallOptions{comma}{}) -> {RT}::Pending<{ret}, {exc}> {{
                    {opts}
                    let args = {args_ty} {{ {} }};
                    let payload = {W}::Encode::encode_to_vec(&args);
                    {RT}::Pending::for_method({}, self.inner.start({here}{}, &payload, &options), {decode_reply})
                }}",
                start,
                params.join(", "),
                inits.join(", "),
                lit_str(&m.name),
                id_const(&m.name)
            );
        }
        out.push_str("}\n}\n");
    }

    /// How a parameter is bound in generated functions: its escaped name, with `_` appended
    /// where that would shadow a prelude variant (a binding named `Some` is an error), equal
    /// a variant of its own enum type (denied by `bindings_with_variant_name`) or meet a
    /// parameter the generated function has itself (`options`, `ctx`).
    pub(super) fn binding(&self, p: &Field) -> String {
        let variants: Vec<String> = match self.underlying(&p.ty) {
            Type::Named(r) => match &self.def(*r).kind {
                DefinitionKind::Enum { values } => values.iter().map(|v| ident(&v.name)).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut b = ident(&p.name);
        while matches!(b.as_str(), "Some" | "None" | "Ok" | "Err" | "options" | "ctx")
            || variants.contains(&b)
        {
            b.push('_');
        }
        b
    }

    pub(super) fn param_ty(&self, p: &Field, file: usize) -> String {
        let t = self.owned_ty(&p.ty, file, Scope::Nested);
        if p.requiredness == Requiredness::Optional {
            format!("::core::option::Option<{t}>")
        } else {
            t
        }
    }

    /// The path from service `from`'s module to service `owner`'s module ("" for itself).
    /// The Rust type a handler of `m` returns on success (`()` for `void`).
    fn returned_ty(&self, m: &Method, file: usize) -> String {
        m.returns.as_ref().map_or("()".to_owned(), |t| self.owned_ty(t, file, Scope::Nested))
    }

    /// The `match` arms turning a handler's `Result` into the method's result struct (a
    /// declared exception into its field; `Internal` returned as the handler's error).
    fn result_arms(&self, m: &Method, here: &str, result_ty: &str) -> String {
        let mut arms = String::new();
        if m.returns.is_some() {
            let _ = write!(arms, "::core::result::Result::Ok(v) => {result_ty} {{ success: ::core::option::Option::Some(v), ..::core::default::Default::default() }},");
        } else {
            let _ = write!(arms, "::core::result::Result::Ok(()) => <{result_ty} as ::core::default::Default>::default(),");
        }
        for t in &m.throws {
            let _ = write!(
                arms,
                "::core::result::Result::Err({RT}::ServiceError::Exception({}::{}(e))) => {result_ty} {{ {}: ::core::option::Option::Some(e), ..::core::default::Default::default() }},",
                self.exception_type_at(m, here),
                ident(&t.name),
                ident(&t.name)
            );
        }
        let _ = write!(arms, "::core::result::Result::Err({RT}::ServiceError::Internal(e)) => return ::core::result::Result::Err(e),");
        if m.throws.is_empty() {
            let _ = write!(arms, "::core::result::Result::Err({RT}::ServiceError::Exception(never)) => match never {{}},");
        }
        arms
    }

    /// The `AsyncServer` trait (methods return `Send` futures; the context is owned, and
    /// `ferry.borrow` methods get owned arguments, as a future outlives the request buffer)
    /// and `async_service()`, which registers it with `Service::async_method`.
    fn async_server(
        &self,
        out: &mut String,
        file: usize,
        r: DefRef,
        d: &Definition,
        methods: &[(DefRef, &'p Method)],
    ) {
        let _ = writeln!(
            out,
            "/// Implement this to serve `{}` with `async fn`s: a handler awaiting (a nested call, \
             /// I/O) holds no thread. Register it with [`async_service`].\n\
             pub trait AsyncServer: ::core::marker::Send + ::core::marker::Sync + 'static {{",
            d.name
        );
        for (owner, m) in methods {
            let here = self.service_prefix(*owner, r);
            doc(out, &m.doc);
            let params: String = m
                .params
                .iter()
                .map(|p| format!(", {}: {}", self.binding(p), self.param_ty(p, file)))
                .collect();
            let ret = self.returned_ty(m, file);
            let _ = writeln!(
                out,
                "fn {}(&self, ctx: {RT}::Context{params}) -> impl ::core::future::Future<Output = ::core::result::Result<{ret}, {RT}::ServiceError<{}>>> + ::core::marker::Send;",
                ident(&m.name),
                self.exception_type_at(m, &here)
            );
        }
        out.push_str("}\n");
        let _ = writeln!(out, "/// A runtime `Service` that dispatches to the async `server`.\npub fn async_service<S: AsyncServer>(server: ::std::sync::Arc<S>) -> {RT}::Service {{ let mut service = {RT}::Service::new();");
        for (owner, m) in methods {
            let here = self.service_prefix(*owner, r);
            let result_ty = format!("{here}{}", derived(&m.name, "_Result"));
            let dec_args = format!("{here}{}", derived("decode_", &format!("{}_args", m.name)));
            let args: String =
                m.params.iter().map(|p| format!(", args.{}", ident(&p.name))).collect();
            let arms = self.result_arms(m, &here, &result_ty);
            let _ = writeln!(
                out,
                "{{ let s = ::std::sync::Arc::clone(&server); service = service.async_method({here}{id}, move |ctx, req| {{
                    let s = ::std::sync::Arc::clone(&s);
                    async move {{
                        let args = {dec_args}(&req).map_err(|e| {RT}::HandlerError::invalid_arguments(::std::format!(\"malformed arguments: {{e}}\")))?;
                        let result = match <S as AsyncServer>::{name}(&*s, ctx{args}).await {{ {arms} }};
                        ::core::result::Result::Ok({W}::Encode::encode_to_vec(&result))
                    }}
                }}); }}
                service = service.name({here}{id}, {:?}).oneway({here}{id}, {});",
                m.name,
                m.oneway,
                id = id_const(&m.name),
                name = ident(&m.name),
            );
        }
        if self.reflection {
            out.push_str("service = service.schema(SCHEMA);");
        }
        out.push_str("service }\n");
    }

    pub(super) fn service_prefix(&self, owner: DefRef, from: DefRef) -> String {
        let name = ident(&self.def(owner).name);
        if owner == from {
            String::new()
        } else if owner.file == from.file {
            format!("super::{name}::")
        } else {
            format!("super::super::{}::{name}::", self.modules[owner.file])
        }
    }

    /// [`Gen::exception_type`] named from a module where `prefix` reaches the method's own.
    pub(super) fn exception_type_at(&self, m: &Method, prefix: &str) -> String {
        if m.throws.is_empty() {
            self.exception_type(m)
        } else {
            format!("{prefix}{}", self.exception_type(m))
        }
    }

    pub(super) fn exception_type(&self, m: &Method) -> String {
        if m.throws.is_empty() {
            format!("{RT}::NoException")
        } else {
            derived(&m.name, "_Exception")
        }
    }

    /// A decoder for an args/result struct (all fields owned, read through a generic loop).
    pub(super) fn decoder_fn(
        &self,
        out: &mut String,
        fn_name: &str,
        init: &str,
        ty: &str,
        fields: &[Field],
        file: usize,
    ) {
        let _ = writeln!(out, "#[doc(hidden)] pub fn {fn_name}<'a>(bytes: &'a [u8]) -> ::core::result::Result<{ty}, {W}::DecodeError> {{ let mut r = {W}::StructReader::message(bytes, &{W}::DecodeOptions::DEFAULT)?; let mut out = {init};");
        out.push_str(
            "while let ::core::option::Option::Some(f) = r.next_field()? { match f.id {\n",
        );
        for f in fields {
            let read = format!(
                "{{ let x: {} = r.read(f)?; {} }}",
                self.view_ty_outside(&f.ty, file),
                self.to_owned_expr(&f.ty, "x")
            );
            let assign = if f.requiredness == Requiredness::Optional {
                format!("out.{} = ::core::option::Option::Some({read});", ident(&f.name))
            } else {
                format!("out.{} = {read};", ident(&f.name))
            };
            let _ = writeln!(out, "{} => {{ {assign} }}", f.id);
        }
        out.push_str("_ => r.skip(f)?, } }\n::core::result::Result::Ok(out) }\n");
    }

    /// A view type named from a service module (a sibling of `views`).
    pub(super) fn view_ty_outside(&self, t: &Type, file: usize) -> String {
        self.view_ty(t, file, Scope::Nested)
    }
}

/// Names of a service's client methods: each IDL method's call and `_start` variant, never
/// equal to each other or to the client's own `new` and `inner` (documented in spec/idl.md
/// § 7): a name already taken gets `_` appended.
pub(super) fn client_names<'m>(
    methods: impl Iterator<Item = &'m str>,
) -> HashMap<String, (String, String)> {
    let methods: Vec<&str> = methods.collect();
    let mut taken: HashSet<String> = ["new", "inner"].iter().map(|s| (*s).to_owned()).collect();
    let mut calls = Vec::new();
    for m in &methods {
        let mut call = ident(m);
        while taken.contains(&call) {
            call.push('_');
        }
        taken.insert(call.clone());
        calls.push(call);
    }
    let mut names = HashMap::new();
    for (m, call) in methods.iter().zip(calls) {
        let mut start = derived(m, "_start");
        while taken.contains(&start) {
            start.push('_');
        }
        taken.insert(start.clone());
        names.insert((*m).to_owned(), (call, start));
    }
    names
}
