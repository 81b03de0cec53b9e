include "../ok/include/common/types.thrift"
struct A {
  1: types.Guuid id
  2: types.Page page
}
