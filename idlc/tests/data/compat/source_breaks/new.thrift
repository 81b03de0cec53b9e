namespace rs shop.v2
enum Status { OPEN = 1, SHUT = 2 }
struct Order { 1: i64 id; 2: string remark }
service Base { void ping() }
service Shop { void ping(); Order get(1: i64 order_id) }
