enum E {
  A = 1,
  ALIAS = 1
}
struct S { 1: strin s }
