//! Tokens (logos). Lexing never fails: bad input becomes an `Error` token the parser reports
//! and steps over, so one run shows every problem.

use logos::Logos;

use crate::Span;

/// Token kinds. Keywords are their own kinds; comments are kept only when they are doc
/// comments (`/** */`, `///`), which attach to the next definition, field or value.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r\n\f\u{feff}]+")]
pub enum Tok {
    #[token("include")]
    Include,
    #[token("cpp_include")]
    CppInclude,
    #[token("namespace")]
    Namespace,
    /// Pre-0.9 namespace keywords (`cpp_namespace`, `java_package`, …): deprecated.
    #[token("cpp_namespace")]
    #[token("php_namespace")]
    #[token("py_module")]
    #[token("perl_package")]
    #[token("ruby_namespace")]
    #[token("smalltalk_category")]
    #[token("smalltalk_prefix")]
    #[token("java_package")]
    #[token("cocoa_prefix")]
    #[token("csharp_namespace")]
    #[token("delphi_namespace")]
    #[token("xsd_namespace")]
    OldNamespace,
    #[token("const")]
    Const,
    #[token("typedef")]
    Typedef,
    #[token("enum")]
    Enum,
    #[token("senum")]
    Senum,
    #[token("struct")]
    Struct,
    #[token("union")]
    Union,
    #[token("exception")]
    Exception,
    #[token("service")]
    Service,
    #[token("extends")]
    Extends,
    #[token("oneway")]
    Oneway,
    #[token("async")]
    Async,
    #[token("throws")]
    Throws,
    #[token("void")]
    Void,
    #[token("required")]
    Required,
    #[token("optional")]
    Optional,
    #[token("map")]
    Map,
    #[token("set")]
    Set,
    #[token("list")]
    List,
    #[token("cpp_type")]
    CppType,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("xsd_all")]
    XsdAll,
    #[token("xsd_optional")]
    XsdOptional,
    #[token("xsd_nillable")]
    XsdNillable,
    #[token("xsd_attrs")]
    XsdAttrs,

    /// Names, possibly dotted (`shared.Service`, `py.twisted`).
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9][A-Za-z0-9_]*)*")]
    Ident,
    /// A name with `-` in it (`Thrift-Tutorial`): only the pre-0.9 `smalltalk_category`
    /// header takes one (Thrift's `st_identifier`); anywhere else the parser reports it.
    #[regex(r"[A-Za-z_][A-Za-z0-9_.]*(-[A-Za-z0-9_.]+)+")]
    HyphenatedName,
    #[regex(r"[+-]?[0-9]+")]
    #[regex(r"[+-]?0[xX][0-9A-Fa-f]+")]
    Int,
    #[regex(r"[+-]?[0-9]*\.[0-9]+([eE][+-]?[0-9]+)?")]
    #[regex(r"[+-]?[0-9]+\.([eE][+-]?[0-9]+)?")]
    #[regex(r"[+-]?[0-9]+[eE][+-]?[0-9]+")]
    Double,
    /// A quoted string (either quote), escapes allowed, on one line.
    #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
    #[regex(r#"'([^'\\\n]|\\[^\n])*'"#)]
    Str,
    /// A quote with no closing quote before the end of the line.
    #[regex(r#""([^"\\\n]|\\[^\n])*"#)]
    #[regex(r#"'([^'\\\n]|\\[^\n])*"#)]
    UnterminatedStr,

    #[regex(r"///[^\n]*")]
    DocLine,
    #[token("/**", block_comment)]
    DocBlock,
    #[token("/*", block_comment)]
    #[regex(r"//[^\n]*", logos::skip)]
    #[regex(r"#[^\n]*", logos::skip)]
    Comment,
    /// `/*` without `*/`.
    UnterminatedComment,

    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("=")]
    Eq,
    #[token("*")]
    Star,
    #[token("&")]
    Amp,

    /// A character that starts no token.
    Error,
    /// End of input (never produced by logos; appended by [`lex`]).
    Eof,
}

/// Skips to the end of a block comment; an unterminated one runs to the end of input.
fn block_comment(lex: &mut logos::Lexer<'_, Tok>) -> logos::FilterResult<(), ()> {
    let rest = lex.remainder();
    // `/**/` is an empty ordinary comment, not the start of a doc comment.
    if lex.slice() == "/**" && rest.starts_with('/') {
        lex.bump(1);
        return logos::FilterResult::Skip;
    }
    match rest.find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            if lex.slice().starts_with("/**") {
                logos::FilterResult::Emit(())
            } else {
                logos::FilterResult::Skip
            }
        }
        None => {
            lex.bump(rest.len());
            logos::FilterResult::Error(())
        }
    }
}

/// One token: its kind and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
}

/// Iterates the tokens of `src`, ending with one `Eof`. Never fails.
pub fn tokens(src: &str) -> impl Iterator<Item = Token> + '_ {
    let mut lexer = Tok::lexer(src);
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let Some(result) = lexer.next() else {
            done = true;
            return Some(Token { kind: Tok::Eof, span: Span::new(src.len(), src.len()) });
        };
        let range = lexer.span();
        let kind = match result {
            Ok(kind) => kind,
            // The block-comment callback reports an unterminated comment as an error.
            Err(()) if lexer.slice().starts_with("/*") => Tok::UnterminatedComment,
            Err(()) => Tok::Error,
        };
        Some(Token { kind, span: Span::new(range.start, range.end) })
    })
}

/// All tokens of `src`, ending with `Eof`.
pub fn lex(src: &str) -> Vec<Token> {
    tokens(src).collect()
}

impl Tok {
    /// How the token reads in "expected X, found Y" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Tok::Ident => "an identifier",
            Tok::HyphenatedName => "a name containing `-`",
            Tok::Int => "an integer",
            Tok::Double => "a number",
            Tok::Str => "a string",
            Tok::UnterminatedStr => "an unterminated string",
            Tok::DocLine | Tok::DocBlock => "a doc comment",
            Tok::Comment | Tok::UnterminatedComment => "a comment",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::Lt => "`<`",
            Tok::Gt => "`>`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::Eq => "`=`",
            Tok::Star => "`*`",
            Tok::Amp => "`&`",
            Tok::Error => "an unexpected character",
            Tok::Eof => "the end of the file",
            _ => "a keyword",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lexes_thrift_numbers_names_and_strings() {
        use Tok::*;
        assert_eq!(
            kinds("shared.Foo -1 0x1F +2 1.5 -1e10 3. 'a' \"b\\\"c\""),
            vec![Ident, Int, Int, Int, Double, Double, Double, Str, Str, Eof]
        );
    }

    #[test]
    fn comments_are_skipped_and_doc_comments_kept() {
        use Tok::*;
        assert_eq!(
            kinds("#!/usr/bin/env thrift\n// x\n/* y */ /**/ /** doc */ /// line\nstruct"),
            vec![DocBlock, DocLine, Struct, Eof]
        );
    }

    #[test]
    fn hyphenated_names_are_one_token_and_negative_numbers_stay_numbers() {
        use Tok::*;
        assert_eq!(kinds("Thrift-Tutorial a.b-c-d"), vec![HyphenatedName, HyphenatedName, Eof]);
        assert_eq!(
            kinds("x=-1 [1,-2]"),
            vec![Ident, Eq, Int, LBracket, Int, Comma, Int, RBracket, Eof]
        );
    }

    #[test]
    fn bad_input_becomes_error_tokens() {
        use Tok::*;
        assert_eq!(
            kinds("struct @ \"open\nx /* never closed"),
            vec![Struct, Error, UnterminatedStr, Ident, UnterminatedComment, Eof]
        );
    }
}
