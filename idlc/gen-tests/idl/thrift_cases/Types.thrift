namespace rs types
enum E { A = 1, B = 2 }
struct R { 1: i32 x }
