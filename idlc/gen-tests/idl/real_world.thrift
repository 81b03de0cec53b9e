// Constructs found in real-world Thrift files (Apache Thrift's test suite and tutorial,
// other compilers' dialects) that Ferry accepts, each with the code that must compile in
// Rust, C11 and C++17. One definition per class of issue #11.

smalltalk_category Thrift-Tutorial
smalltalk_prefix Tut

enum MyEnum1 { ME1_0 = 0, ME1_1 = 1 }
enum MyEnum2 { ME2_0, ME2_1, ME2_2 }
/** An enum with no values is valid Thrift. */
enum Empty {}

const set<binary> EMPTY_BINARY_SET = {}
const list<i32> EMPTY_LIST = []
const map<string, i32> EMPTY_MAP = {}
const i32 ANNOTATED_CONST = 5 (deprecated = "use another")

struct Point { 1: i32 x, 2: i32 y }
typedef Point (cpp.type = "Pt") AnnotatedPoint

/// A doc comment with a URL http://example.com/*.html and a closer */ inside a code span,
/// which C's `/* */` cannot hold unescaped.
struct Defaults {
  1: set<binary> empty_set = {},
  2: map<double, i8> by_double,
  3: MyEnum2 qualified_by_other_enum = MyEnum1.ME2_2,
  4: required list<string> required_with_default = ["a", "b"],
  5: required Point required_struct,
  6: required Point required_struct_with_default = {"x": 1, "y": 2},
  7: AnnotatedPoint annotated,
  8: optional Empty nothing,
}

union Shape { 1: Point point, 2: Defaults defaults }

struct Holder {
  1: required Shape required_union,
  2: required Defaults required_nested,
}

/** Contains itself through a required field: accepted with a warning. */
struct Ouroboros {
  1: required Ouroboros tail,
  2: optional i32 value,
}

struct Alpha { 1: required Beta beta }
struct Beta { 1: required Alpha alpha, 2: string name }

struct User { 1: string name }

/// Found by the generator: parameters named like a variant of their own enum type, or like
/// a prelude variant, or like the generated functions' own parameters.
enum Switch { on, off, Some }

service Directory {
  /// `/* not a comment */` in a doc comment.
  list<User> list_all(1: i32 limit = 100, 2: optional string cursor),
  Holder echo(1: required Holder holder, 2: optional Defaults defaults),
  void with_enum(1: Empty e, 2: MyEnum2 m = MyEnum2.ME2_1),
  void flip(1: Switch on, 2: Switch Some, 3: i32 options, 4: i32 ctx),
}

/// Found by the generator: names the generated code uses itself.
struct views { 1: i32 _marker, 2: optional views nested }
service Clashes {
  void new(), void inner(), void get(), void get_start(), void into(1: i32 x), void clone(),
}
