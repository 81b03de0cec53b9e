const i32 A = "five"
const string B = 5
const list<i32> C = {1: 2}
const map<string, i32> D = [1]
const bool E = 2
