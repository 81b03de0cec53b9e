//! A large, realistic IDL for the compiler bench: enums, structs with every kind of field,
//! exceptions and services, cross-referencing each other. Deterministic for a given size.

use std::fmt::Write as _;

/// Generates an IDL of about `lines` lines.
pub fn generate(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 40);
    out.push_str("namespace rs bench.generated\nnamespace java org.example.bench\n\n");
    // Each group below is 36 lines.
    let groups = lines / 36 + 1;
    for g in 0..groups {
        let _ = writeln!(out, "/** Status values of group {g}. */\nenum Status{g} {{\n  UNKNOWN = 0,\n  ACTIVE = 1,\n  SUSPENDED = 2,\n  DELETED = 0x10,\n}}\n");
        let _ = writeln!(
            out,
            "const i32 LIMIT_{g} = {}\nconst list<string> TAGS_{g} = [\"a\", \"b\", \"c\"]\n",
            1000 + g
        );
        let _ = writeln!(out, "struct Record{g} {{");
        let _ = writeln!(out, "  1: required i64 id");
        let _ = writeln!(out, "  2: optional string name = \"record-{g}\"");
        let _ = writeln!(out, "  3: Status{g} status = Status{g}.ACTIVE");
        let _ = writeln!(out, "  4: list<string> tags");
        let _ = writeln!(out, "  5: map<string, i64> counters");
        let _ = writeln!(out, "  6: set<i32> flags");
        let _ = writeln!(out, "  7: binary payload");
        let _ = writeln!(out, "  8: double score = 0.5");
        if g > 0 {
            let _ = writeln!(out, "  9: optional Record{} previous", g - 1);
        }
        let _ = writeln!(out, "  10: i32 limit = LIMIT_{g}");
        let _ = writeln!(out, "}} (annotation.group = \"{g}\")\n");
        let _ = writeln!(out, "exception Failure{g} {{\n  1: string message\n  2: i32 code\n}}\n");
        let _ = writeln!(out, "service Service{g} {{");
        let _ = writeln!(out, "  Record{g} get(1: i64 id) throws (1: Failure{g} failure)");
        let _ = writeln!(out, "  list<Record{g}> scan(1: i32 offset, 2: i32 limit = LIMIT_{g})");
        let _ = writeln!(out, "  void put(1: Record{g} record) (ferry.timeout_ms = \"250\")");
        let _ = writeln!(out, "  oneway void touch(1: i64 id)");
        let _ = writeln!(out, "}}\n");
    }
    out
}
