// Each break here is accepted by an annotation on what changed.
struct A {
  1: string x (ferry.compat.allow = "C0101")
  2: required string y (ferry.compat.allow = "C0102")
}
enum E { ONE = 2 } (ferry.compat.allow = "C0105")
service S {
  string f(1: i32 a) (ferry.compat.allow = "C0101")
  oneway void g() (ferry.compat.allow = "C0108")
}
