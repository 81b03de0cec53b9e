// Names that are keywords or prelude items in Rust or C must still generate valid code.
namespace rs keywords

enum match { type = 1, Self = 2, self = 3, Other = 4, fn = 5 }

struct Option { 1: i32 Some; 2: string None }
struct Result { 1: Option Ok; 2: list<Option> Err }
struct Vec { 1: optional Result String }
struct String { 1: Vec Box }

struct struct_ {
  1: i32 type
  2: string match
  3: match loop
  4: optional bool unsized
  5: list<string> where
  6: i64 crate
  7: i64 super
  8: double int
  9: binary char
}

union enum_ { 1: i32 impl; 2: string trait; 3: struct_ dyn }

exception Box { 1: string message }

service unsafe {
  struct_ move(1: struct_ ref, 2: match static) throws (1: Box mut)
  oneway void yield(1: i32 await)
}
