struct A { 1: i32 a }
/* this never ends
struct B {}
