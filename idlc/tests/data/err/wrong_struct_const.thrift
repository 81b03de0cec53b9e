struct P { 1: i32 x; 2: i32 y }
const P ORIGIN = {"x": 0, "z": 1, "y": "zero"}
