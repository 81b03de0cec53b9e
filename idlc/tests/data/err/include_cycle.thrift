include "cycle/a.thrift"
struct Top { 1: a.A a }
