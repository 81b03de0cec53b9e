// Defaults whose expansion never ends: a default holding a value of its own struct (whose
// unset fields take their defaults again), directly, through another struct, and through a
// field set to a value that leaves the endless field unset.
struct Tree { 1: list<Tree> children = [{}] }
struct A { 1: B b }
struct B { 1: list<A> as = [{}] }
struct Node { 1: Node next, 2: list<Node> more = [{"next": {}}] }
// Fine: setting the field explicitly ends the expansion; recursion of default requiredness
// is absent by default.
struct Ok { 1: list<Ok> children = [{"children": []}], 2: Ok parent }
