struct A {
  1: i32 a,
  2 string b,
  3: list<i32 c,
}

enum E { X = , Y }

service S {
  void f(1: i32)
  oneway g()
}

const i32 = 5
