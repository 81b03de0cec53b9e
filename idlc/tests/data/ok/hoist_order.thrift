// A boxed required default (`a.b` points to a static at B's defaults) created before B's own
// statics (B's list default): the header must define B's array before the static that uses it.
struct A {
  1: required B b
}

struct B {
  1: optional A back
  2: list<i32> xs = [1, 2, 3]
  3: map<string, list<i64>> m = {"k": [4, 5]}
}

const A ONE = {"b": {"xs": [7]}}
