struct A {
  1: map<string> m
  2: map<string, i32 n
}
