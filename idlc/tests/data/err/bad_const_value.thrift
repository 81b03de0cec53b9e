const i32 X = 
const list<i32> L = [1, 2
struct A {}
