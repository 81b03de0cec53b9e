// Two mistakes, two errors: each missing closer is reported once, with its opener.
struct A {
  1: i32 x

service S { void f( }

struct B { 1: i32 y }
