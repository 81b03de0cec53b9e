struct A { 1: i32 x; 2: optional string y }
enum E { ONE = 1 }
service S { i32 f(1: i32 a); void g() }
