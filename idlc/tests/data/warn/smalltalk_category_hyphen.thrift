// 2008-era tutorial header: the argument may contain `-` (Thrift's st_identifier).
smalltalk_category Thrift-Tutorial
smalltalk_prefix Tut
struct Work { 1: i32 num }
