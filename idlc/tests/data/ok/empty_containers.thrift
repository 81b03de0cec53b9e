// `{}` is an empty set or list as well as an empty map (Thrift reads it as a map and
// converts); `[]` is an empty list or set.
const set<binary> EMPTY_SET = {}
const list<i32> EMPTY_LIST = {}
const set<string> EMPTY_SET_2 = []
const map<string, i32> EMPTY_MAP = {}
struct S { 1: set<binary> s = {}, 2: list<list<i32>> l = [{}, []] }
enum Empty {}
