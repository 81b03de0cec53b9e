const i32 LIMIT = 10
const i32 X = LIMT
