i32 x = 5
struct A { 1: i32 a }
