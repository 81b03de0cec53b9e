const i8 A = 128
const u8 B = -1
const i16 C = 40000
const u32 D = 4294967296
struct S { 1: i32 x = 2147483648 }
