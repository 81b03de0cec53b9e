const string S = "no end
struct A { 1: i32 a }
