enum Level { LOW = 1, HIGH = 2 }
struct Reading {
  1: i32 value
  2: string label
  3: list<i16> samples
  4: Level level
  5: i64 required_later
}
union Source { 1: string host; 2: i32 port }
service Meter {
  Reading read(1: i32 channel)
  oneway void reset()
}
