// Names that collide with what a C header sees: C keywords and macros of the standard
// headers as field names, fields next to the flags and members the C back end adds, and
// type names that look like the names it generates.
namespace rs c_names

enum errno { EOF = 1, stdin = 2, NULL = 3 }

struct stdout {
  1: i32 EOF
  2: optional i32 x
  3: i32 has_x
  4: string stderr
  5: i64 INT32_MAX
  6: bool errno
  7: list<i32> SIZE_MAX
  8: double UINT64_C
  9: i32 RAND_MAX
  10: i32 EXIT_SUCCESS
}

union which { 1: i32 which; 2: string value; 3: stdout NULL }

struct list_i32 { 1: list<list_i32> items; 2: i32 count }

service printf {
  stdout fprintf(1: stdout stdin, 2: which EOF)
}
