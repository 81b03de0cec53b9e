namespace rs shop.v1
enum Status { OPEN = 1, CLOSED = 2 }
struct Order { 1: i64 id; 2: string note }
struct Gone { 1: i32 x }
struct Cart { 1: i64 id; 2: string promo; 3: string gift }
service Base { void ping() }
service Shop extends Base { Order get(1: i64 id) }
