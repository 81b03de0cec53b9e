//! From text to a syntax tree: `lexer` (logos), `parser` (resilient recursive descent),
//! `ast` (the tree).
pub mod ast;
pub mod lexer;
pub mod parser;
