// Recursion that terminates: through lists, optional fields and default-requiredness
// references (generated code boxes them).
namespace rs ferry.recursive

struct RecTree {
  1: list<RecTree> children
  2: i16 item
}

struct RecList {
  1: RecList & nextitem
  3: i16 item
}

struct CoRec { 1: CoRec2 & other }
struct CoRec2 { 1: CoRec other }

union Expr {
  1: i64 literal
  2: BinOp binop
}

struct BinOp {
  1: required string op
  2: required Expr left
  3: required Expr right
}

exception CoError { 1: CoError2 other }
exception CoError2 { 1: CoError other }

service TreeService {
  RecTree echoTree(1: RecTree tree)
  CoRec echoCoRec(1: CoRec item) throws (1: CoError err)
  i64 eval(1: Expr e)
}
