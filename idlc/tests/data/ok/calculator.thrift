#!/usr/bin/env idlc check
/*
 * The tutorial service, extended: includes across folders, typedefs, constants,
 * exceptions and a service extending one from another file.
 */
include "base.thrift"
include "common/types.thrift"

namespace rs ferry.tutorial
namespace cpp tutorial
namespace * tutorial

typedef i32 MyInteger

const i32 INT32CONSTANT = 9853
const map<string, string> MAPCONSTANT = {'hello': 'world', 'goodnight': "moon"}

enum Operation {
  ADD = 1,
  SUBTRACT = 2,
  MULTIPLY = 3,
  DIVIDE = 4
}

/** Structs are the basic complex data structures. */
struct Work {
  1: i32 num1 = 0,
  2: i32 num2,
  3: Operation op = Operation.ADD,
  4: optional string comment,
  5: types.Region region = types.DEFAULT_REGION,
}

exception InvalidOperation {
  1: i32 whatOp,
  2: string why
}

service Calculator extends base.BaseService {
  void ping(),
  i32 add(1: i32 num1, 2: i32 num2) (ferry.timeout_ms = "250", ferry.idempotent = "true"),
  i32 calculate(1: i32 logid, 2: Work w) throws (1: InvalidOperation ouch, 2: types.NotFound missing),
  oneway void zip()
}
