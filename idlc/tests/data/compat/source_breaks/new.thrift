namespace rs shop.v2
enum Status { OPEN = 1, SHUT = 2 }
struct Order { 1: i64 id; 2: string remark }
// `promo` is gone with its id reserved; `gift` is gone without (C0205).
struct Cart { 1: i64 id } (ferry.reserved = "2")
service Base { void ping() }
service Shop { void ping(); Order get(1: i64 order_id) }
