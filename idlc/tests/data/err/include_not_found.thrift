include "does/not/exist.thrift"
struct A { 1: i32 a }
