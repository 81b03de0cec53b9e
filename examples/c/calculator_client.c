/* The main demo's client in C: calls the Calculator of examples/calculator through the stubs
 * `idlc gen --lang c` generates from examples/calculator/idl/calculator.thrift.
 *
 *   bash examples/c/run.sh        builds everything, starts the Rust server, runs this
 *
 * or by hand, with a server running (`cargo run -p ferry-examples --bin calculator -- --serve
 * 127.0.0.1:7000`):
 *   cargo build --release -p ferry-capi
 *   cargo run -p ferry-idlc -- gen --lang c -o gen examples/calculator/idl/calculator.thrift
 *   cc -std=c11 -Icapi/include -Igen examples/c/calculator_client.c \
 *      target/release/libferry.a -lpthread -ldl -lm -o calculator_client
 *   ./calculator_client 127.0.0.1:7000 */
#include <stdio.h>

#include "calculator.h"

/* What one call needs beside its arguments: the reply bytes and the arena its result's
 * lists live in (strings borrow from the reply). Free both once the result is used. */
typedef struct {
  ferry_bytes reply;
  ferry_arena arena;
  ferry_error *error;
} call_space;

static void done(call_space *s) {
  ferry_bytes_free(&s->reply);
  ferry_arena_free(&s->arena);
  ferry_error_free(s->error);
  s->error = NULL;
}

static int fail(const char *what, call_space *s) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, ferry_error_message(s->error),
          ferry_status_name(ferry_error_status(s->error)));
  done(s);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s host:port\n", argv[0]);
    return 2;
  }
  ferry_client *client = NULL;
  call_space s = {0};
  if (ferry_client_connect(argv[1], NULL, &client, &s.error) != FERRY_STATUS_OK)
    return fail("connect", &s);

  calculator_Calculator_add_args add = {.num1 = 2, .num2 = 3};
  calculator_Calculator_add_result sum;
  if (calculator_Calculator_add(client, &add, &sum, &s.reply, &s.arena, &s.error))
    return fail("add", &s);
  printf("add(2, 3) = %d\n", sum.success);
  done(&s);

  calculator_Calculator_calculate_args calc;
  calculator_Calculator_calculate_args_init(&calc); /* the IDL's defaults */
  calc.logid = 1;
  calc.w.num1 = 84;
  calc.w.num2 = 2;
  calc.w.op = calculator_Operation_DIVIDE;
  calculator_Calculator_calculate_result out;
  if (calculator_Calculator_calculate(client, &calc, &out, &s.reply, &s.arena, &s.error))
    return fail("calculate", &s);
  printf("calculate(84 / 2) = %d\n", out.success);
  done(&s);

  calc.logid = 2;
  calc.w.num1 = 1;
  calc.w.num2 = 0;
  if (calculator_Calculator_calculate(client, &calc, &out, &s.reply, &s.arena, &s.error))
    return fail("calculate", &s);
  if (out.has_ouch)
    printf("calculate(1 / 0) failed as declared: %.*s (op %d)\n", (int)out.ouch.why.len,
           out.ouch.why.ptr, out.ouch.whatOp);
  done(&s);

  calculator_Calculator_log_args log = {.message = {"hello from C", 12}};
  calculator_Calculator_log_result logged;
  if (calculator_Calculator_log(client, &log, &logged, &s.reply, &s.arena, &s.error))
    return fail("log", &s);
  done(&s);

  ferry_client_free(client);
  return 0;
}
