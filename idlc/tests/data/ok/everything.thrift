#!/usr/local/bin/thrift --gen rs
# Every construct idlc accepts, in one file. Hash comments,
// line comments,
/* and block comments are all skipped. */

include "common/types.thrift"
cpp_include "<unordered_map>"

namespace rs ferry.everything
namespace cpp.detail everything
namespace py.twisted everything
namespace xsd test (uri = 'http://example.org/ns/everything')
namespace noexist Everything
namespace * everything

/**
 * Base types, including Ferry's unsigned and f32 extensions.
 */
struct Scalars {
  1: bool flag = true
  2: byte old_byte = -1
  3: i8 tiny = 127
  4: i16 small = -32768
  5: i32 medium = 0x7fffffff
  6: i64 large = -9223372036854775808
  7: u8 ubyte = 255
  8: u16 ushort = 65535
  9: u32 uint = 4294967295
  10: u64 ulong = 18446744073709551615
  11: f32 single = 1.5
  12: double real = -2.5e-3
  13: string text = "tab\there \"quoted\" \u00e9"
  14: binary blob = 'raw'
  15: uuid id = "00000000-4444-cccc-ffff-0123456789ab"
  16: double whole = 3
  17: double exp = 1e10
}

typedef list<i32> (cpp.template = "std::list") IntList
typedef map<string, list<types.Guid>> Index
typedef IntList AliasOfAlias

struct Containers {
  1: list<i32> numbers = [1, 2, 3,]
  2: set<string> names = ["a"; "b"]
  3: map<string, i64> counts = {"x": 1, 'y': -2}
  4: list<list<map<i32, set<string>>>> deep
  5: map<set<i32> (python.immutable = ""), list<Scalars>> keyed
  6: IntList aliased = [4, 5]
  7: AliasOfAlias twice
  8: Index index = {}
  9: map<types.Region, string> by_region = {types.Region.US_EAST: "virginia"}
}

/// Separators: commas, semicolons, or none at all.
struct Separators { 1: i32 a, 2: i32 b; 3: i32 c 4: i32 d }

struct Requiredness {
  1: required string must
  2: optional string may
  3: string usually
  -4: i32 negative_id
}

struct Recursive {
  1: list<Recursive> children
  2: optional Recursive parent
  3: Recursive & next
}

struct MutualA { 1: optional MutualB b }
struct MutualB { 1: MutualA a }

/** Rust and C keywords are legal names; back ends escape them. */
struct type {
  1: i32 match
  2: string Self
  3: string self
  4: bool int
  5: i32 fn
  6: string unsigned
}

union Shape {
  1: double radius
  2: list<double> sides
  3: string label
} (doc.kind = "shape")

exception Overflow { 1: i64 limit; 2: string message } (message = "message")

enum Flags {
  NONE = 0 (note = "default"),
  /** Doc comments attach to enum values too. */
  READ = 0x1,
  WRITE = 0x2,
  EXEC = +4,
  ALL = 7
} (bitmask = "true")

const Scalars DEFAULT_SCALARS = {"flag": false, "tiny": 1, "text": "x"}
const list<Shape> NO_SHAPES = []
const map<string, list<i32>> NESTED = {"a": [1, 2], "b": []}
const i32 REFERENCED = types.MAX_PAGE_SIZE
const Flags READ_FLAG = Flags.READ
const i64 FROM_INT = INT32
const i32 INT32 = -0x1F
const double PI = 3.14159
const bool YES = 1
const string SINGLE = 'single \'quoted\''

/// A service with every kind of method.
service Everything {
  void ping()
  oneway void fire(1: string event) (ferry.idempotent = "true")
  Scalars echo(1: Scalars value) throws (1: Overflow overflow, 2: types.NotFound nf)
  list<map<string, Shape>> shapes(1: i32 limit = 10, 2: types.Page page),
  i64 count(1: set<types.Guid> ids) (ferry.timeout_ms = "1500");
  types.Timestamp when(),
} (service.owner = "team-everything")

service Extended extends Everything {
  bool extra(1: bool flag = true)
}
