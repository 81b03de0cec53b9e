typedef Loop1 Loop2
typedef Loop2 Loop1
struct S { 1: Loop1 x }
