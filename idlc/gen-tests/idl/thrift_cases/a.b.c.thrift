struct R { 1: i32 y }
