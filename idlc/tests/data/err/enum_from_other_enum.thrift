enum A { X }
enum B { Y }
const A V = B.Y
