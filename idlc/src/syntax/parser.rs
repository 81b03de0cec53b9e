//! Resilient recursive descent (rust-analyzer's shape): the parser never stops at an error.
//! It records "expected X, found Y", skips to a recovery point (the next item keyword, a
//! field separator, a closing brace) and goes on, so one run reports every syntax error.

use std::cell::Cell;

use super::ast::*;
use super::lexer::{tokens, Tok};
use crate::diagnostics::Problem;
use crate::Span;

/// Nesting limit for types (`list<list<…>>`) and constant values (`[[…]]`): deeper input is
/// reported instead of overflowing the stack.
pub const MAX_NESTING: u32 = 64;

/// Parses one file. Always returns a document; `problems` gets every lexical and syntax
/// error and every deprecation warning found on the way.
pub fn parse(src: &str, problems: &mut Vec<Problem>) -> Document {
    Parser::new(src, problems).document()
}

/// Token kinds that start a top-level item: recovery points.
const ITEM_START: &[Tok] = &[
    Tok::Include,
    Tok::CppInclude,
    Tok::Namespace,
    Tok::OldNamespace,
    Tok::Const,
    Tok::Typedef,
    Tok::Enum,
    Tok::Senum,
    Tok::Struct,
    Tok::Union,
    Tok::Exception,
    Tok::Service,
];

/// A token just consumed.
struct Bumped {
    kind: Tok,
    span: Span,
}

struct Parser<'s, 'p> {
    src: &'s str,
    /// Significant tokens (no doc comments, no error tokens), ending with `Eof`.
    kinds: Vec<Tok>,
    spans: Vec<Span>,
    /// Doc comments by the index of the significant token they precede, in order.
    docs: Vec<(usize, String)>,
    pos: usize,
    /// Steps left before an accidental infinite loop becomes a panic (which fuzzing finds).
    fuel: Cell<u32>,
    depth: u32,
    /// Groups open around the current token: each one's closer and where it opened. A
    /// closer of an enclosing group ends the inner ones (`f( }` reports the `(` only).
    open: Vec<(Tok, Span)>,
    /// Method annotations a parameter list took because its `)` was missing.
    method_annotations: Vec<Annotation>,
    problems: &'p mut Vec<Problem>,
}

impl<'s, 'p> Parser<'s, 'p> {
    fn new(src: &'s str, problems: &'p mut Vec<Problem>) -> Self {
        // About one token per 4 bytes of typical IDL; a guess only sizes the first allocation.
        let mut kinds = Vec::with_capacity(src.len() / 4 + 1);
        let mut spans = Vec::with_capacity(src.len() / 4 + 1);
        let mut docs = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        for token in tokens(src) {
            let text = &src[token.span.range()];
            match token.kind {
                Tok::DocLine => pending.push(text.trim_start_matches('/').trim().to_owned()),
                Tok::DocBlock => pending.push(clean_doc_block(text)),
                Tok::Error => problems.push(Problem::BadCharacter { span: token.span }),
                Tok::UnterminatedComment => {
                    problems.push(Problem::UnterminatedComment { span: token.span })
                }
                kind => {
                    if kind == Tok::UnterminatedStr {
                        problems.push(Problem::UnterminatedString { span: token.span });
                    }
                    if !pending.is_empty() {
                        docs.push((kinds.len(), std::mem::take(&mut pending).join("\n")));
                    }
                    kinds.push(kind);
                    spans.push(token.span);
                }
            }
        }
        let fuel = Cell::new((kinds.len() as u32).saturating_mul(16).saturating_add(1024));
        Parser {
            src,
            kinds,
            spans,
            docs,
            pos: 0,
            fuel,
            depth: 0,
            open: Vec::new(),
            method_annotations: Vec::new(),
            problems,
        }
    }

    // ---- token access

    fn nth(&self, n: usize) -> Tok {
        let fuel = self.fuel.get();
        assert!(fuel > 0, "parser is stuck at token {}", self.pos);
        self.fuel.set(fuel - 1);
        self.kinds.get(self.pos + n).copied().unwrap_or(Tok::Eof)
    }

    fn peek(&self) -> Tok {
        self.nth(0)
    }

    fn at(&self, kind: Tok) -> bool {
        self.peek() == kind
    }

    fn span(&self) -> Span {
        self.spans[self.pos.min(self.spans.len() - 1)]
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.spans[self.pos - 1].end()
        }
    }

    fn text(&self) -> &'s str {
        &self.src[self.span().range()]
    }

    fn doc(&self) -> Option<String> {
        let i = self.docs.binary_search_by_key(&self.pos, |(at, _)| *at).ok()?;
        Some(self.docs[i].1.clone())
    }

    /// Consumes the current token (never `Eof`) and returns it.
    fn bump(&mut self) -> Bumped {
        let at = self.pos.min(self.kinds.len() - 1);
        let bumped = Bumped { kind: self.kinds[at], span: self.spans[at] };
        if bumped.kind != Tok::Eof {
            self.pos += 1;
            self.fuel.set(self.fuel.get().saturating_add(8));
        }
        bumped
    }

    fn eat(&mut self, kind: Tok) -> bool {
        if self.at(kind) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Reports "expected `what`" at the current token.
    fn error(&mut self, expected: &str) {
        let found = self.peek();
        let span = if found == Tok::Eof {
            // Point just past the last token: "expected `}`" lands after the last field.
            Span::new(self.prev_end(), self.prev_end())
        } else {
            self.span()
        };
        self.problems.push(Problem::Expected {
            expected: expected.to_owned(),
            found: found.describe(),
            found_text: if found == Tok::Eof { String::new() } else { self.text().to_owned() },
            span,
        });
    }

    fn expect(&mut self, kind: Tok, what: &str) -> bool {
        if self.eat(kind) {
            return true;
        }
        if matches!(kind, Tok::RBrace | Tok::RParen | Tok::RBracket | Tok::Gt) && self.pos > 0 {
            // A missing closer belongs where the group should have ended: right after the
            // last token of the group, not at whatever (perhaps lines later) comes next.
            let at = Span::new(self.prev_end(), self.prev_end());
            let found = self.peek();
            let found_text = if found == Tok::Eof { String::new() } else { self.text().to_owned() };
            self.problems.push(Problem::Expected {
                expected: what.to_owned(),
                found: found.describe(),
                found_text,
                span: at,
            });
        } else {
            self.error(what);
        }
        false
    }

    /// Skips tokens until one in `stop`, an item keyword or the start of a field (`3:`),
    /// none of which is consumed. Bracketed groups (`{}`, `()`, `[]`, `<>`) are stepped over
    /// whole, so a comma inside `map<K, V>` is not taken for a separator.
    fn recover(&mut self, stop: &[Tok]) {
        let mut nesting = 0usize;
        loop {
            let t = self.peek();
            let at_field = t == Tok::Int && self.nth(1) == Tok::Colon;
            if t == Tok::Eof
                || (nesting == 0 && (stop.contains(&t) || ITEM_START.contains(&t) || at_field))
            {
                return;
            }
            match t {
                Tok::LBrace | Tok::LParen | Tok::LBracket | Tok::Lt => nesting += 1,
                Tok::RBrace | Tok::RParen | Tok::RBracket | Tok::Gt if nesting > 0 => nesting -= 1,
                // A closer with nothing open ends the enclosing group: stop before it.
                Tok::RBrace | Tok::RParen | Tok::RBracket | Tok::Gt => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// Every loop calls this once per turn: a turn that consumed nothing (the parser sits on
    /// a token no rule wants, such as a stray `)`) steps over one token.
    fn ensure_progress(&mut self, before: usize) {
        if self.pos == before {
            self.bump();
        }
    }

    fn separator(&mut self) {
        if !self.eat(Tok::Comma) {
            self.eat(Tok::Semi);
        }
    }

    fn ident(&mut self, what: &str) -> Option<Ident> {
        if self.at(Tok::Ident) {
            let span = self.bump().span;
            Some(Ident { name: SmolStr::new(&self.src[span.range()]), span })
        } else if is_keyword(self.peek())
            && (FOLLOWS_A_NAME.contains(&self.nth(1))
                || (self.nth(1) == Tok::Int && self.nth(2) == Tok::Colon))
        {
            // `1: string service)`: one precise error, and the keyword stands in for the
            // name so the rest of the list is not lost in follow-on errors.
            let span = self.bump().span;
            let keyword = self.src[span.range()].to_owned();
            let what = what.to_owned();
            self.problems.push(Problem::KeywordAsName { keyword: keyword.clone(), what, span });
            Some(Ident { name: SmolStr::new(keyword), span })
        } else {
            self.error(what);
            None
        }
    }

    fn string(&mut self) -> Option<(String, Span)> {
        match self.peek() {
            Tok::Str | Tok::UnterminatedStr => {
                let span = self.bump().span;
                Some((unquote(&self.src[span.range()]), span))
            }
            _ => None,
        }
    }

    fn missing_ident(&self) -> Ident {
        Ident { name: SmolStr::default(), span: Span::new(self.prev_end(), self.prev_end()) }
    }

    // ---- items

    fn document(&mut self) -> Document {
        let mut doc = Document::default();
        while !self.at(Tok::Eof) {
            let start = self.pos;
            self.item(&mut doc);
            if self.pos == start {
                // Nothing was consumed: report once and skip to the next item keyword.
                self.error("a definition (`struct`, `enum`, `service`, `const`, …)");
                self.bump();
                self.recover(&[]);
            }
        }
        doc
    }

    fn item(&mut self, doc: &mut Document) {
        let docs = self.doc();
        let start = self.span().start();
        match self.peek() {
            Tok::Include | Tok::CppInclude => {
                let cpp = self.bump().kind == Tok::CppInclude;
                match self.string() {
                    Some((path, _)) => {
                        let span = Span::new(start, self.prev_end());
                        doc.headers.push(if cpp {
                            Header::CppInclude { path, span }
                        } else {
                            Header::Include { path, span }
                        });
                    }
                    None => self.error("a quoted file name"),
                }
                self.separator();
            }
            Tok::Namespace => {
                self.bump();
                let scope = if self.at(Tok::Star) {
                    let span = self.bump().span;
                    Some(Ident { name: SmolStr::new_static("*"), span })
                } else {
                    self.ident("a namespace scope (a language name or `*`)")
                };
                let name = if let Some((name, span)) = self.string() {
                    Some(Ident { name: name.into(), span })
                } else if scope.is_some() {
                    self.ident("a namespace name")
                } else {
                    None
                };
                if let (Some(scope), Some(name)) = (scope, name) {
                    let span = Span::new(start, self.prev_end());
                    doc.headers.push(Header::Namespace { scope, name, span });
                } else {
                    self.recover(&[]);
                }
                self.annotations();
                self.separator();
            }
            Tok::OldNamespace => {
                let keyword = self.bump().span;
                let keyword_text = self.src[keyword.range()].to_owned();
                let name = if let Some((name, span)) = self.string() {
                    Some(Ident { name: name.into(), span })
                } else if self.at(Tok::HyphenatedName) {
                    // Thrift's `st_identifier`: `smalltalk_category Thrift-Tutorial`.
                    let span = self.bump().span;
                    Some(Ident { name: SmolStr::new(&self.src[span.range()]), span })
                } else {
                    self.ident("a namespace name")
                };
                if let Some(name) = name {
                    let plain =
                        name.name.chars().all(|c| c.is_ascii_alphanumeric() || "_.".contains(c));
                    let written = if plain {
                        name.name.to_string()
                    } else {
                        format!("{:?}", name.name.as_str())
                    };
                    self.problems.push(Problem::Deprecated {
                        what: format!("`{keyword_text}`"),
                        instead: format!(
                            "namespace {} {written}",
                            old_namespace_scope(&keyword_text),
                        ),
                        span: Span::new(start, self.prev_end()),
                    });
                    let scope = Ident {
                        name: SmolStr::new_static(old_namespace_scope(&keyword_text)),
                        span: keyword,
                    };
                    doc.headers.push(Header::Namespace {
                        scope,
                        name,
                        span: Span::new(start, self.prev_end()),
                    });
                }
                self.separator();
            }
            Tok::Const => {
                self.bump();
                let ty = self.type_expr();
                let name = self.ident("a constant name");
                let value = if self.expect(Tok::Eq, "`=` and the constant's value") {
                    self.const_value()
                } else {
                    self.recover(&[Tok::Comma, Tok::Semi]);
                    ConstExpr { kind: ConstKind::Error, span: self.span() }
                };
                // Annotations after a constant: not Apache Thrift, but other compilers
                // (fbthrift) take them and real files use them.
                let annotations = if self.at(Tok::LParen) {
                    let at = self.span();
                    let annotations = self.annotations();
                    self.problems.push(Problem::Dialect {
                        what: "annotations after a constant".to_owned(),
                        instead: "drop them; Apache Thrift has no annotations on constants"
                            .to_owned(),
                        span: Span::new(at.start(), self.prev_end()),
                    });
                    annotations
                } else {
                    Vec::new()
                };
                self.separator();
                if let Some(name) = name {
                    self.define(
                        doc,
                        docs,
                        name,
                        DefinitionKind::Const { ty, value },
                        annotations,
                        start,
                    );
                }
            }
            Tok::Typedef => {
                self.bump();
                let target = self.type_expr();
                let name = self.ident("the new type's name");
                let annotations = self.annotations();
                self.separator();
                if let Some(name) = name {
                    self.define(
                        doc,
                        docs,
                        name,
                        DefinitionKind::Typedef { target },
                        annotations,
                        start,
                    );
                } else {
                    self.recover(&[]);
                }
            }
            Tok::Enum => {
                self.bump();
                let name = self.ident("the enum's name").unwrap_or_else(|| self.missing_ident());
                let values = self.enum_body();
                let annotations = self.annotations();
                self.separator();
                self.define(doc, docs, name, DefinitionKind::Enum { values }, annotations, start);
            }
            Tok::Senum => {
                let keyword = self.bump().span;
                let name = self.ident("the senum's name").unwrap_or_else(|| self.missing_ident());
                let mut values = Vec::new();
                if self.expect(Tok::LBrace, "`{`") {
                    while !self.at(Tok::RBrace)
                        && !self.at(Tok::Eof)
                        && !ITEM_START.contains(&self.peek())
                    {
                        let before = self.pos;
                        match self.string() {
                            Some(v) => values.push(v),
                            None => {
                                self.error("a quoted senum value");
                                self.recover(&[Tok::RBrace, Tok::Comma, Tok::Semi]);
                            }
                        }
                        self.separator();
                        self.ensure_progress(before);
                    }
                    self.expect(Tok::RBrace, "`}`");
                }
                let annotations = self.annotations();
                self.separator();
                self.problems.push(Problem::Deprecated {
                    what: "`senum`".to_owned(),
                    instead: "enum".to_owned(),
                    span: keyword,
                });
                self.define(doc, docs, name, DefinitionKind::Senum { values }, annotations, start);
            }
            Tok::Struct | Tok::Union | Tok::Exception => {
                let kind = match self.bump().kind {
                    Tok::Struct => StructKind::Struct,
                    Tok::Union => StructKind::Union,
                    _ => StructKind::Exception,
                };
                let name = self
                    .ident(&format!("the {}'s name", kind.keyword()))
                    .unwrap_or_else(|| self.missing_ident());
                self.eat(Tok::XsdAll);
                let fields = self.field_block(Tok::LBrace, Tok::RBrace);
                let annotations = self.annotations();
                self.separator();
                self.define(
                    doc,
                    docs,
                    name,
                    DefinitionKind::Struct { kind, fields },
                    annotations,
                    start,
                );
            }
            Tok::Service => {
                self.bump();
                let name = self.ident("the service's name").unwrap_or_else(|| self.missing_ident());
                let extends = if self.eat(Tok::Extends) {
                    self.ident("the name of the service to extend")
                } else {
                    None
                };
                let functions = self.service_body();
                let annotations = self.annotations();
                self.separator();
                self.define(
                    doc,
                    docs,
                    name,
                    DefinitionKind::Service { extends, functions },
                    annotations,
                    start,
                );
            }
            _ => {}
        }
    }

    /// Records a definition that spans from `start` to the last token consumed.
    fn define(
        &self,
        doc: &mut Document,
        docs: Option<String>,
        name: Ident,
        kind: DefinitionKind,
        annotations: Vec<Annotation>,
        start: usize,
    ) {
        let span = Span::new(start, self.prev_end());
        doc.definitions.push(Definition { doc: docs, name, kind, annotations, span });
    }

    /// Consumes `open` (reporting it missing and skipping ahead to one if it is); false when
    /// there is none before the next item. On true, the group must end with `close_block`.
    fn open_block(&mut self, open: Tok, what: &str) -> bool {
        let found = self.at(open) || {
            self.expect(open, what);
            self.recover(&[open]);
            self.at(open)
        };
        if found {
            let span = self.bump().span;
            self.open.push((closer_of(open), span));
        }
        found
    }

    /// Inside a group: stop at its end, at an item keyword, or at a closer that belongs to
    /// an enclosing group.
    fn in_block(&self, close: Tok) -> bool {
        let t = self.peek();
        t != close
            && t != Tok::Eof
            && !ITEM_START.contains(&t)
            && !self.open.iter().rev().skip(1).any(|(c, _)| *c == t)
    }

    /// Ends the innermost group: its closer, or one error that points at the opener too.
    fn close_block(&mut self, close: Tok, what: &str) {
        let opener = self.open.pop().map(|(_, span)| span);
        if self.eat(close) {
            return;
        }
        let at = Span::new(self.prev_end(), self.prev_end());
        let found = self.peek();
        let found_text = if found == Tok::Eof { String::new() } else { self.text().to_owned() };
        let (expected, found) = (what.to_owned(), found.describe());
        self.problems.push(match opener {
            Some(opener) => Problem::Unclosed { expected, found, found_text, opener, span: at },
            None => Problem::Expected { expected, found, found_text, span: at },
        });
    }

    fn enum_body(&mut self) -> Vec<EnumValue> {
        let mut values = Vec::new();
        if !self.open_block(Tok::LBrace, "`{` to start the enum's values") {
            return values;
        }
        while self.in_block(Tok::RBrace) {
            let doc = self.doc();
            let before = self.pos;
            let Some(name) = self.ident("an enum value name") else {
                self.recover(&[Tok::Comma, Tok::Semi, Tok::RBrace]);
                self.separator();
                self.ensure_progress(before);
                continue;
            };
            let value = if self.eat(Tok::Eq) {
                if self.at(Tok::Int) {
                    let span = self.bump().span;
                    match parse_int(&self.src[span.range()]) {
                        Some(v) if i64::try_from(v).is_ok() => Some((v as i64, span)),
                        _ => {
                            self.problems.push(Problem::IntegerLiteralTooLarge { span });
                            None
                        }
                    }
                } else {
                    self.error("an integer value");
                    self.recover(&[Tok::Comma, Tok::Semi, Tok::RBrace, Tok::Ident]);
                    None
                }
            } else {
                None
            };
            let annotations = self.annotations();
            self.separator();
            values.push(EnumValue { doc, name, value, annotations });
        }
        self.close_block(Tok::RBrace, "`}` to close the enum");
        values
    }

    fn service_body(&mut self) -> Vec<Function> {
        let mut functions = Vec::new();
        if !self.open_block(Tok::LBrace, "`{` to start the service's methods") {
            return functions;
        }
        while self.in_block(Tok::RBrace) {
            let before = self.pos;
            if let Some(f) = self.function() {
                functions.push(f);
            } else {
                self.recover(&[Tok::Comma, Tok::Semi, Tok::RBrace]);
                self.separator();
            }
            self.ensure_progress(before);
        }
        self.close_block(Tok::RBrace, "`}` to close the service");
        functions
    }

    fn function(&mut self) -> Option<Function> {
        let doc = self.doc();
        let start = self.span().start();
        let oneway = match self.peek() {
            Tok::Oneway => Some(self.bump().span),
            Tok::Async => {
                let span = self.bump().span;
                self.problems.push(Problem::Deprecated {
                    what: "`async`".to_owned(),
                    instead: "oneway".to_owned(),
                    span,
                });
                Some(span)
            }
            _ => None,
        };
        let returns_span = self.span();
        let returns = if self.eat(Tok::Void) {
            None
        } else if starts_type(self.peek()) {
            Some(self.type_expr())
        } else {
            self.error("a return type or `void`");
            return None;
        };
        let name = match (&returns, self.peek()) {
            // `oneway g()`: the name was read as a return type. Say what is missing and
            // carry on with the parameters.
            (Some(TypeExpr { kind: TypeKind::Named(name), span, .. }), Tok::LParen) => {
                self.problems.push(Problem::Expected {
                    expected: "a return type or `void` before the method name".to_owned(),
                    found: "the method's name",
                    found_text: name.to_string(),
                    span: *span,
                });
                Ident { name: name.clone(), span: *span }
            }
            _ => self.ident("the method's name")?,
        };
        let params = if self.at(Tok::LParen) {
            self.field_block(Tok::LParen, Tok::RParen)
        } else {
            self.error("`(` and the method's parameters");
            return None;
        };
        let throws = if self.eat(Tok::Throws) {
            if self.at(Tok::LParen) {
                self.field_block(Tok::LParen, Tok::RParen)
            } else {
                self.error("`(` and the exceptions the method throws");
                Vec::new()
            }
        } else {
            Vec::new()
        };
        let mut annotations = self.annotations();
        annotations.append(&mut self.method_annotations);
        self.separator();
        Some(Function {
            doc,
            oneway,
            returns,
            returns_span,
            name,
            params,
            throws,
            annotations,
            span: Span::new(start, self.prev_end()),
        })
    }

    /// `{ field* }` or `( field* )`.
    fn field_block(&mut self, open: Tok, close: Tok) -> Vec<Field> {
        let mut fields = Vec::new();
        let what = if open == Tok::LBrace { "`{` to start the fields" } else { "`(`" };
        if !self.open_block(open, what) {
            return fields;
        }
        while self.in_block(close) {
            let after_separator =
                self.pos > 0 && matches!(self.kinds[self.pos - 1], Tok::Comma | Tok::Semi);
            if close == Tok::RParen
                && !fields.is_empty()
                && !after_separator
                && self.at_method_start()
            {
                // `i32 get(1: string key (ferry.timeout_ms = "5")` then the next method: the
                // `)` is missing, and the annotations read as the last parameter's were the
                // method's. Give them back, so the one error is the missing `)`.
                if let Some(last) = fields.last_mut() {
                    let (method, field): (Vec<_>, Vec<_>) = std::mem::take(&mut last.annotations)
                        .into_iter()
                        .partition(|a| a.key.name.starts_with("ferry."));
                    last.annotations = field;
                    self.method_annotations = method;
                }
                break;
            }
            let before = self.pos;
            match self.field(close) {
                Some(f) => fields.push(f),
                None => {
                    self.recover(&[Tok::Comma, Tok::Semi, close]);
                    self.separator();
                }
            }
            self.ensure_progress(before);
        }
        let closing =
            if close == Tok::RBrace { "`}` to close the fields" } else { "`)` to close the list" };
        self.close_block(close, closing);
        fields
    }

    fn field(&mut self, close: Tok) -> Option<Field> {
        let doc = self.doc();
        let start = self.span().start();
        let id = if self.at(Tok::Int) && self.nth(1) == Tok::Colon {
            let span = self.bump().span;
            self.bump();
            match parse_int(&self.src[span.range()]) {
                Some(v) => Some((v.clamp(i64::MIN.into(), i64::MAX.into()) as i64, span)),
                None => {
                    self.problems.push(Problem::IntegerLiteralTooLarge { span });
                    Some((i64::MAX, span))
                }
            }
        } else if self.at(Tok::Int) {
            self.bump();
            self.error("`:` after the field id");
            return None;
        } else if self.nth(1) == Tok::Colon {
            self.error("a field id (an integer)");
            return None;
        } else {
            None
        };
        let (requiredness, requiredness_span) = match self.peek() {
            Tok::Required => (Requiredness::Required, Some(self.bump().span)),
            Tok::Optional => (Requiredness::Optional, Some(self.bump().span)),
            _ => (Requiredness::Default, None),
        };
        if !starts_type(self.peek()) {
            self.error(if id.is_some() { "a field type" } else { "a field (`1: i32 name`)" });
            return None;
        }
        let ty = self.type_expr();
        let reference = self.eat(Tok::Amp);
        if let TypeKind::Named(written) = &ty.kind {
            // `2: value` then the next field: the name was read as a type, and the type is
            // what is missing.
            let ends = matches!(
                self.peek(),
                Tok::Comma | Tok::Semi | Tok::RBrace | Tok::RParen | Tok::Eof
            ) || (self.at(Tok::Int) && self.nth(1) == Tok::Colon);
            if ends {
                self.problems.push(Problem::Expected {
                    expected: format!(
                        "a type before the field name `{written}` (`{}: i32 {written}`)",
                        id.map_or(1, |(v, _)| v)
                    ),
                    found: "the field's name",
                    found_text: written.to_string(),
                    span: ty.span,
                });
                self.separator();
                return None;
            }
        }
        let name = self.ident("a field name")?;
        let default = if self.eat(Tok::Eq) { Some(self.const_value()) } else { None };
        self.eat(Tok::XsdOptional);
        self.eat(Tok::XsdNillable);
        if self.eat(Tok::XsdAttrs) {
            self.field_block(Tok::LBrace, Tok::RBrace);
        }
        let annotations = self.annotations();
        // Separators are optional in Thrift (`1: i32 a 2: i32 b`).
        self.separator();
        let _ = close;
        Some(Field {
            doc,
            id,
            requiredness,
            requiredness_span,
            ty,
            reference,
            name,
            default,
            annotations,
            span: Span::new(start, self.prev_end()),
        })
    }

    fn annotations(&mut self) -> Vec<Annotation> {
        let mut out = Vec::new();
        if !self.eat(Tok::LParen) {
            return out;
        }
        while !self.at(Tok::RParen) && !self.at(Tok::Eof) && !ITEM_START.contains(&self.peek()) {
            let before = self.pos;
            self.annotation(&mut out);
            self.ensure_progress(before);
        }
        self.expect(Tok::RParen, "`)` to close the annotations");
        out
    }

    fn annotation(&mut self, out: &mut Vec<Annotation>) {
        {
            // Keys are dotted names; keywords are accepted as keys too (`(final = "1")`).
            let t = self.peek();
            if t == Tok::Ident || is_keyword(t) {
                let span = self.bump().span;
                let key = Ident { name: SmolStr::new(&self.src[span.range()]), span };
                let value = if self.eat(Tok::Eq) {
                    let v = self.string();
                    if v.is_none() {
                        self.error("a quoted annotation value");
                        self.recover(&[Tok::Comma, Tok::Semi, Tok::RParen]);
                    }
                    v
                } else {
                    None
                };
                out.push(Annotation { key, value });
                self.separator();
            } else {
                self.error("an annotation name");
                self.recover(&[Tok::Comma, Tok::Semi, Tok::RParen]);
                self.separator();
            }
        }
    }

    fn type_expr(&mut self) -> TypeExpr {
        let start = self.span().start();
        if self.depth >= MAX_NESTING {
            self.problems.push(Problem::TooDeep {
                what: "type",
                limit: MAX_NESTING,
                span: self.span(),
            });
            self.recover(&[Tok::Ident, Tok::Comma, Tok::Semi]);
            return TypeExpr {
                kind: TypeKind::Error,
                span: Span::new(start, self.prev_end()),
                annotations: Vec::new(),
            };
        }
        self.depth += 1;
        let kind = match self.peek() {
            Tok::Ident => {
                let span = self.bump().span;
                let text = &self.src[span.range()];
                match BaseType::from_name(text) {
                    Some((base, deprecated)) => {
                        if deprecated {
                            self.problems.push(Problem::Deprecated {
                                what: format!("`{text}`"),
                                instead: "string".to_owned(),
                                span,
                            });
                        }
                        TypeKind::Base(base)
                    }
                    None => TypeKind::Named(SmolStr::new(text)),
                }
            }
            Tok::List => {
                self.bump();
                let kind = self
                    .angle(1)
                    .map_or(TypeKind::Error, |mut a| TypeKind::List(Box::new(a.remove(0))));
                if self.eat(Tok::CppType) {
                    self.string();
                }
                kind
            }
            Tok::Set => {
                self.bump();
                if self.eat(Tok::CppType) {
                    self.string();
                }
                self.angle(1).map_or(TypeKind::Error, |mut a| TypeKind::Set(Box::new(a.remove(0))))
            }
            Tok::Map => {
                self.bump();
                if self.eat(Tok::CppType) {
                    self.string();
                }
                self.angle(2).map_or(TypeKind::Error, |mut a| {
                    let v = a.remove(1);
                    TypeKind::Map(Box::new(a.remove(0)), Box::new(v))
                })
            }
            _ => {
                self.error("a type");
                TypeKind::Error
            }
        };
        self.depth -= 1;
        // Apache Thrift allows annotations after base and container types only. Other
        // compilers also take them after a named type (`typedef Foo (cpp.type = "X") Bar`);
        // that is accepted when the next tokens can only be annotations (`( key =`,
        // `( key ,`, `( key )`), so `oneway f()` is never read as type `f` annotated `()`.
        let annotations = match kind {
            TypeKind::Error => Vec::new(),
            TypeKind::Named(_) if self.at(Tok::LParen) && self.annotations_follow() => {
                let at = self.span();
                let annotations = self.annotations();
                self.problems.push(Problem::Dialect {
                    what: "annotations after a named type".to_owned(),
                    instead:
                        "annotate the typedef or field instead: `typedef Foo Bar (key = \"value\")`"
                            .to_owned(),
                    span: Span::new(at.start(), self.prev_end()),
                });
                annotations
            }
            TypeKind::Named(_) => Vec::new(),
            _ if self.at(Tok::LParen) => self.annotations(),
            _ => Vec::new(),
        };
        TypeExpr { kind, span: Span::new(start, self.prev_end()), annotations }
    }

    /// Does a method declaration start here (`void`, `oneway`, or `Type name (`)? Inside a
    /// parameter list that means its `)` is missing.
    fn at_method_start(&self) -> bool {
        match self.peek() {
            Tok::Void | Tok::Oneway | Tok::Async => true,
            Tok::Ident => self.nth(1) == Tok::Ident && self.nth(2) == Tok::LParen,
            _ => false,
        }
    }

    /// At `(`: do the tokens after it read as an annotation list and nothing else?
    fn annotations_follow(&self) -> bool {
        let key = self.nth(1);
        (key == Tok::Ident || is_keyword(key))
            && matches!(self.nth(2), Tok::Eq | Tok::Comma | Tok::RParen)
    }

    /// `< T >` or `< K , V >`.
    fn angle(&mut self, n: usize) -> Option<Vec<TypeExpr>> {
        if !self.expect(Tok::Lt, "`<`") {
            return None;
        }
        let mut args = vec![self.type_expr()];
        if n == 2 {
            if !self.expect(Tok::Comma, "`,` between the key and value types") {
                self.recover(&[Tok::Gt, Tok::Comma, Tok::Semi]);
                self.eat(Tok::Gt);
                return None;
            }
            args.push(self.type_expr());
        }
        if !self.expect(Tok::Gt, "`>`") {
            return None;
        }
        Some(args)
    }

    fn const_value(&mut self) -> ConstExpr {
        let span = self.span();
        if self.depth >= MAX_NESTING {
            self.problems.push(Problem::TooDeep { what: "constant", limit: MAX_NESTING, span });
            self.recover(&[Tok::Comma, Tok::Semi]);
            return ConstExpr { kind: ConstKind::Error, span };
        }
        let kind = match self.peek() {
            Tok::Int => {
                self.bump();
                match parse_int(&self.src[span.range()]) {
                    Some(v) => ConstKind::Int(v),
                    None => {
                        self.problems.push(Problem::IntegerLiteralTooLarge { span });
                        ConstKind::Error
                    }
                }
            }
            Tok::Double => {
                self.bump();
                self.src[span.range()].parse().map_or(ConstKind::Error, ConstKind::Double)
            }
            Tok::Str | Tok::UnterminatedStr => {
                ConstKind::Str(self.string().map(|s| s.0).unwrap_or_default())
            }
            Tok::True => {
                self.bump();
                ConstKind::Bool(true)
            }
            Tok::False => {
                self.bump();
                ConstKind::Bool(false)
            }
            Tok::Ident => {
                self.bump();
                ConstKind::Ident(SmolStr::new(&self.src[span.range()]))
            }
            Tok::LBracket => {
                self.bump();
                self.depth += 1;
                let mut items = Vec::new();
                while !self.at(Tok::RBracket)
                    && !self.at(Tok::Eof)
                    && !ITEM_START.contains(&self.peek())
                {
                    let before = self.pos;
                    items.push(self.const_value());
                    self.separator();
                    if self.pos == before {
                        self.recover(&[Tok::Comma, Tok::Semi, Tok::RBracket]);
                        self.separator();
                    }
                    self.ensure_progress(before);
                }
                self.depth -= 1;
                self.expect(Tok::RBracket, "`]` to close the list");
                ConstKind::List(items)
            }
            Tok::LBrace => {
                self.bump();
                self.depth += 1;
                let mut entries = Vec::new();
                while !self.at(Tok::RBrace)
                    && !self.at(Tok::Eof)
                    && !ITEM_START.contains(&self.peek())
                {
                    let before = self.pos;
                    let key = self.const_value();
                    if self.expect(Tok::Colon, "`:` between key and value") {
                        let value = self.const_value();
                        entries.push((key, value));
                    } else {
                        self.recover(&[Tok::Comma, Tok::Semi, Tok::RBrace]);
                    }
                    self.separator();
                    self.ensure_progress(before);
                }
                self.depth -= 1;
                self.expect(Tok::RBrace, "`}` to close the map");
                ConstKind::Map(entries)
            }
            _ => {
                self.error("a constant value");
                ConstKind::Error
            }
        };
        ConstExpr { kind, span: Span::new(span.start(), self.prev_end().max(span.start())) }
    }
}

fn closer_of(open: Tok) -> Tok {
    match open {
        Tok::LBrace => Tok::RBrace,
        Tok::LParen => Tok::RParen,
        Tok::LBracket => Tok::RBracket,
        _ => Tok::Gt,
    }
}

fn starts_type(t: Tok) -> bool {
    matches!(t, Tok::Ident | Tok::List | Tok::Set | Tok::Map)
}

/// Tokens that come right after a name (of a field, parameter, method, definition): a
/// keyword followed by one of them (or by the next field's `N:`) was meant as the name.
const FOLLOWS_A_NAME: &[Tok] =
    &[Tok::RParen, Tok::Comma, Tok::Semi, Tok::Eq, Tok::RBrace, Tok::LBrace, Tok::LParen];

fn is_keyword(t: Tok) -> bool {
    !matches!(
        t,
        Tok::Ident
            | Tok::Int
            | Tok::Double
            | Tok::Str
            | Tok::UnterminatedStr
            | Tok::DocLine
            | Tok::DocBlock
            | Tok::Comment
            | Tok::UnterminatedComment
            | Tok::Error
            | Tok::Eof
    ) && t.describe() == "a keyword"
}

fn old_namespace_scope(keyword: &str) -> &'static str {
    match keyword {
        "cpp_namespace" => "cpp",
        "php_namespace" => "php",
        "py_module" => "py",
        "perl_package" => "perl",
        "ruby_namespace" => "rb",
        "smalltalk_category" => "smalltalk.category",
        "smalltalk_prefix" => "smalltalk.prefix",
        "java_package" => "java",
        "cocoa_prefix" => "cocoa",
        "csharp_namespace" => "csharp",
        "delphi_namespace" => "delphi",
        _ => "xsd",
    }
}

/// Parses a decimal or hex integer with an optional sign, wide enough to report overflow.
pub fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    let v = i128::from(magnitude);
    Some(if negative { -v } else { v })
}

/// Strips quotes and resolves escapes (`\n \t \r \\ \" \' \uXXXX`); unknown escapes are kept.
pub fn unquote(text: &str) -> String {
    let quote = text.chars().next().unwrap_or('"');
    let body = text.strip_prefix(quote).unwrap_or(text);
    let body = body.strip_suffix(quote).unwrap_or(body);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn clean_doc_block(text: &str) -> String {
    let inner = text.trim_start_matches("/**").trim_end_matches("*/");
    inner
        .lines()
        .map(|l| l.trim().trim_start_matches('*').trim())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
