// Annotations on a named type (other compilers' dialect) in a typedef and a field.
struct Point { 1: i32 x }
typedef Point (cpp.type = "Pt") AnnotatedPoint
struct Line { 1: Point (cpp.ref = "true") from, 2: AnnotatedPoint to }
service S { Point (a = "b") at(1: i32 i) }
