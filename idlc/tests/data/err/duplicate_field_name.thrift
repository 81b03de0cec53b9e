struct A {
  1: i32 name
  2: string name
}
