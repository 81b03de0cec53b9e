typedef double Real
struct A {
  1: map<double, string> a
  2: map<Real, i32> b
  3: map<f32, i32> c
}
