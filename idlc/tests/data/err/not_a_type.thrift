const i32 LIMIT = 3
service S {}
struct A {
  1: LIMIT a
  2: S s
}
