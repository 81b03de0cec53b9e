// A default qualified by another enum's name: Thrift looks the value up in the field's enum.
enum MyEnum1 { ME1_0 = 0, ME1_1 = 1 }
enum MyEnum2 { ME2_0, ME2_1, ME2_2 }
struct S {
  1: MyEnum2 x = MyEnum1.ME2_2,
  2: MyEnum2 y = MyEnum2.ME2_1,
}
const MyEnum2 C = MyEnum1.ME2_0
