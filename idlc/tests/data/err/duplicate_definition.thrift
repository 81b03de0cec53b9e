struct User { 1: i32 id }
enum User { A }
const i32 User = 1
