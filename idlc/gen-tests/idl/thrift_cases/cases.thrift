// Small cases reduced from real-world Thrift files (Impala, Airavata, HBase, Kitex…) that
// Apache Thrift accepts: each must check, and compile as Rust, C11 and C++17 with -Werror.
include "Types.thrift"
include "a.b.c.thrift"

enum Local { A = 1, B = 2 }
typedef Local T
enum Gender { MALE = 3, FEMALE = 4 }

// 1. An enum default qualified by the enum's own name, the enum living in an include.
struct S1 { 1: Types.E e = E.B }
// 2. A typedef name as the qualifier.
struct S2 { 1: T t = T.B }
// 3. An include whose file name has dots.
struct S3 { 1: a.b.c.R r }
// 4. A constant converted to the field's type (list<i32> into list<i64>).
const list<i32> ints = [1, 2, 3]
struct S4 { 1: optional list<i64> longs }
const S4 s4 = {"longs": ints}
// 5. An enum value used as an integer.
const map<string, i32> m = {"a": 1, "c": Gender.MALE}
// 6. An empty service.
service Empty {}
// 7. An optional argument.
service Bank { void transfer(1: i32 amount, 2: optional string memo) }
