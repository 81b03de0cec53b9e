// Annotations after a constant (fbthrift dialect).
const i32 LIMIT = 10 (deprecated = "use MAX")
const list<string> NAMES = ["a"] (java.final = "true");
