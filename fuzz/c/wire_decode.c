/* libFuzzer target for the C wire decoders (ferry_wire.h + the header idlc generates for
 * spec/vectors/schema.thrift), built by fuzz/c/run.sh with AddressSanitizer and UBSan.
 * The first input byte picks a schema (or the schema-less walk), the rest is the message.
 * Properties: no out-of-bounds access, overflow or leak (the sanitizers); a decoded value
 * re-encodes to bytes that decode again and re-encode to the same bytes (the canonical
 * encoding is a fixed point); the schema-less walk accepts every re-encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

static uint8_t out1[1 << 16], out2[1 << 16];

static void check_walk(const uint8_t *b, size_t n) {
  ferry_arena arena = {0};
  ferry_reader r;
  if (ferry_reader_init(&r, b, n, &arena, NULL)) ferry_skip_fields(&r);
  if (r.error != FERRY_WIRE_OK) {
    fprintf(stderr, "the walk rejects a re-encoding: %s at %zu\n", ferry_wire_error_code(r.error),
            r.error_offset);
    abort();
  }
  ferry_arena_free(&arena);
}

#define FIXED_POINT(T)                                                                    \
  do {                                                                                    \
    T v, w;                                                                               \
    ferry_arena a1 = {0}, a2 = {0};                                                       \
    size_t at = 0;                                                                        \
    if (T##_decode(msg, n, &a1, NULL, &v, &at) == FERRY_WIRE_OK) {                        \
      size_t len1 = T##_encode(&v, out1, sizeof out1);                                    \
      if (len1 <= sizeof out1) {                                                          \
        check_walk(out1, len1);                                                           \
        ferry_wire_error e = T##_decode(out1, len1, &a2, NULL, &w, &at);                  \
        if (e != FERRY_WIRE_OK) {                                                         \
          fprintf(stderr, #T ": a re-encoding does not decode: %s at %zu\n",             \
                  ferry_wire_error_code(e), at);                                          \
          abort();                                                                        \
        }                                                                                 \
        size_t len2 = T##_encode(&w, out2, sizeof out2);                                  \
        if (len2 != len1 || memcmp(out1, out2, len1) != 0) {                              \
          fprintf(stderr, #T ": re-encoding is not a fixed point\n");                     \
          abort();                                                                        \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
    ferry_arena_free(&a1);                                                                \
    ferry_arena_free(&a2);                                                                \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  /* The message in a buffer of exactly its size, so AddressSanitizer sees a read past it. */
  size_t n = size - 1;
  uint8_t *msg = malloc(n ? n : 1);
  if (!msg) return 0;
  memcpy(msg, data + 1, n);
  switch (data[0] % 10) {
  case 0: FIXED_POINT(schema_AllTypes); break;
  case 1: FIXED_POINT(schema_Required); break;
  case 2: FIXED_POINT(schema_Node); break;
  case 3: FIXED_POINT(schema_Point); break;
  case 4: FIXED_POINT(schema_PersonV1); break;
  case 5: FIXED_POINT(schema_PersonV2); break;
  case 6: FIXED_POINT(schema_Order); break;
  case 7: FIXED_POINT(schema_Shape); break;
  case 8: FIXED_POINT(schema_Legacy); break;
  default: {
    ferry_arena arena = {0};
    ferry_reader r;
    if (ferry_reader_init(&r, msg, n, &arena, NULL)) ferry_skip_fields(&r);
    ferry_arena_free(&arena);
  }
  }
  free(msg);
  return 0;
}
