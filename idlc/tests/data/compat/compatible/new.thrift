// Every change here is wire-compatible (spec/idl.md § 8): added optional fields, enum
// values, union members and methods; widened integers; string → binary; list → set; an
// enum read as i32; default requiredness → required (default fields are always written).
enum Level { LOW = 1, HIGH = 2, CRITICAL = 3 }
struct Reading {
  1: i64 value
  2: binary label
  3: set<i64> samples
  4: i32 level
  5: required i64 required_later
  6: optional string unit
}
union Source { 1: string host; 2: i32 port; 3: string path }
service Meter {
  Reading read(1: i32 channel, 2: optional bool fresh)
  oneway void reset()
  void calibrate()
}
