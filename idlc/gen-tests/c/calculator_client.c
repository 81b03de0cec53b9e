/* A C client of the tutorial Calculator (idlc/tests/data/ok/calculator.thrift), through the
 * stubs `idlc gen --lang c` generated: run against the Rust server of the tests, or the C
 * server beside this file. argv[1] is "host:port". Prints "ok" when every check passed. */
#include <stdio.h>
#include <string.h>

#include "calculator.h"

static int failures;

#define CHECK(cond, ...)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "calculator_client.c:%d: %s: ", __LINE__, #cond);                 \
      fprintf(stderr, __VA_ARGS__);                                                       \
      fprintf(stderr, "\n");                                                              \
      failures++;                                                                         \
    }                                                                                     \
  } while (0)

static const char *message(ferry_error *e) { return e ? ferry_error_message(e) : ""; }

/* One call's buffers: the reply bytes and the arena its lists live in. */
typedef struct {
  ferry_bytes reply;
  ferry_arena arena;
  ferry_error *error;
} call_space;

static void release(call_space *s) {
  ferry_bytes_free(&s->reply);
  ferry_arena_free(&s->arena);
  ferry_error_free(s->error);
  memset(s, 0, sizeof *s);
}

static int str_eq(ferry_str s, const char *c) { return s.len == strlen(c) && !memcmp(s.ptr, c, s.len); }

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  ferry_client *client = NULL;
  ferry_error *error = NULL;
  if (ferry_client_connect(argv[1], NULL, &client, &error) != FERRY_STATUS_OK) {
    fprintf(stderr, "connect: %s\n", message(error));
    return 1;
  }
  call_space s = {0};
  ferry_status st;

  /* A void method. */
  tutorial_Calculator_ping_args ping = {0};
  tutorial_Calculator_ping_result pong;
  st = tutorial_Calculator_ping(client, &ping, &pong, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK, "ping: %s", message(s.error));
  release(&s);

  /* Arguments and a result; the method's ferry.timeout_ms travels with the call. */
  tutorial_Calculator_add_args add = {.num1 = 2, .num2 = 3};
  tutorial_Calculator_add_result sum;
  st = tutorial_Calculator_add(client, &add, &sum, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && sum.has_success && sum.success == 5, "add: %s (%d)",
        message(s.error), sum.success);
  release(&s);

  /* Per-call options: a deadline of this call's own (the server checks add's deadline is at
   * most its IDL default of 250 ms: a 2 s one fails there), and idempotency. */
  /* Metadata too: the Rust calculator adds the "add-offset" it receives. */
  ferry_metadata meta[] = {{"add-offset", (const uint8_t *)"100", 3}};
  ferry_call_options per_call = {200, true, false, meta, 1};
  st = tutorial_Calculator_add_with(client, &add, &per_call, &sum, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && sum.has_success && sum.success == 105, "add_with: %s (%d)",
        message(s.error), sum.success);
  release(&s);

  /* Inherited methods, through the base service's stubs. */
  base_BaseService_getName_args name_args = {0};
  base_BaseService_getName_result name;
  st = base_BaseService_getName(client, &name_args, &name, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && name.has_success && str_eq(name.success, "calc"), "getName: %s",
        message(s.error));
  release(&s);
  base_BaseService_getCounters_args counters_args = {0};
  base_BaseService_getCounters_result counters;
  st = base_BaseService_getCounters(client, &counters_args, &counters, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && counters.has_success && counters.success.count == 1 &&
            str_eq(counters.success.keys[0], "calls") && counters.success.values[0] == 3,
        "getCounters: %s", message(s.error));
  release(&s);
  base_BaseService_getStatus_args status_args = {0};
  base_BaseService_getStatus_result status;
  st = base_BaseService_getStatus(client, &status_args, &status, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && status.success == base_Status_ALIVE, "getStatus: %s", message(s.error));
  release(&s);

  /* A struct argument with IDL defaults, and a declared exception. */
  tutorial_Calculator_calculate_args calc;
  tutorial_Calculator_calculate_args_init(&calc);
  CHECK(calc.w.op == tutorial_Operation_ADD && calc.w.region == types_Region_EU_WEST,
        "IDL defaults: op %d region %d", calc.w.op, calc.w.region);
  calc.logid = 9;
  calc.w.num1 = 1;
  calc.w.num2 = 0;
  calc.w.op = tutorial_Operation_DIVIDE;
  tutorial_Calculator_calculate_result out;
  st = tutorial_Calculator_calculate(client, &calc, &out, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && !out.has_success && out.has_ouch && out.ouch.whatOp == 4,
        "calculate 1/0: %s", message(s.error));
  CHECK(out.has_ouch && out.ouch.why.len > 0 && strstr(out.ouch.why.ptr, "log 9") != NULL,
        "the exception's message names the log id");
  release(&s);
  calc.w.num1 = 6;
  calc.w.num2 = 3;
  st = tutorial_Calculator_calculate(client, &calc, &out, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK && out.has_success && out.success == 2, "calculate 6/3");
  release(&s);

  /* A failure outside the declared results. */
  calc.w.op = tutorial_Operation_MULTIPLY;
  st = tutorial_Calculator_calculate(client, &calc, &out, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_REMOTE && strstr(message(s.error), "not implemented"),
        "multiply: %s %s", ferry_status_name(st), message(s.error));
  release(&s);

  /* oneway: returns once written. */
  tutorial_Calculator_zip_args zip = {0};
  tutorial_Calculator_zip_result zipped;
  st = tutorial_Calculator_zip(client, &zip, &zipped, &s.reply, &s.arena, &s.error);
  CHECK(st == FERRY_STATUS_OK, "zip: %s", message(s.error));
  release(&s);

  ferry_client_free(client);
  if (failures) return 1;
  printf("ok\n");
  return 0;
}
