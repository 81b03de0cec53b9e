/* The tutorial Calculator served from C through the handler table `idlc gen --lang c`
 * generated: the same behaviour as the Rust `Calc` of the tests. Prints its port, serves
 * until standard input closes, then prints how many calls it served. */
#include <stdio.h>
#include <string.h>

#include "calculator.h"

static unsigned long calls;

static void count(void) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); }

static int32_t get_name(void *u, const base_BaseService_getName_args *a, base_BaseService_getName_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)arena, (void)call;
  count();
  r->has_success = true;
  r->success = (ferry_str){"calc", 4};
  return 0;
}

static int32_t get_status(void *u, const base_BaseService_getStatus_args *a, base_BaseService_getStatus_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)arena, (void)call;
  count();
  r->has_success = true;
  r->success = base_Status_ALIVE;
  return 0;
}

static int32_t get_counters(void *u, const base_BaseService_getCounters_args *a, base_BaseService_getCounters_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)call;
  count();
  /* Result lists may live in the call's arena (freed after the reply is encoded). */
  ferry_str *keys = ferry_arena_alloc(arena, sizeof *keys);
  int64_t *values = ferry_arena_alloc(arena, sizeof *values);
  if (!keys || !values) return 1;
  keys[0] = (ferry_str){"calls", 5};
  values[0] = 3;
  r->has_success = true;
  r->success = (ferry_map_string_i64){keys, values, 1};
  return 0;
}

static int32_t alive_since(void *u, const base_BaseService_aliveSince_args *a, base_BaseService_aliveSince_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)arena, (void)call;
  count();
  r->has_success = true;
  r->success = 42;
  return 0;
}

static int32_t nothing_reinit(void *u, const base_BaseService_reinitialize_args *a, base_BaseService_reinitialize_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)r, (void)arena, (void)call;
  count();
  return 0;
}

static int32_t nothing_shutdown(void *u, const base_BaseService_shutdown_args *a, base_BaseService_shutdown_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)r, (void)arena, (void)call;
  count();
  return 0;
}

static int32_t now(void *u, const base_BaseService_now_args *a, base_BaseService_now_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)arena, (void)call;
  count();
  r->has_success = true;
  r->success = 1700000000;
  return 0;
}

static int32_t ping(void *u, const tutorial_Calculator_ping_args *a, tutorial_Calculator_ping_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)r, (void)arena, (void)call;
  count();
  return 0;
}

static int32_t add(void *u, const tutorial_Calculator_add_args *a, tutorial_Calculator_add_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)arena;
  count();
  /* ferry.timeout_ms = "250" travels with the call. */
  if (ferry_reply_remaining_ms(call) > 250) {
    ferry_reply_fail(call, "add: the caller's deadline did not arrive", NULL);
    return 1;
  }
  r->has_success = true;
  r->success = a->num1 + a->num2;
  return 0;
}

static int32_t calculate(void *u, const tutorial_Calculator_calculate_args *a, tutorial_Calculator_calculate_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u;
  count();
  const tutorial_Work *w = &a->w;
  switch (w->op) {
  case tutorial_Operation_DIVIDE:
    if (w->num2 == 0) {
      char *why = ferry_arena_alloc(arena, 64);
      if (!why) return 1;
      int n = snprintf(why, 64, "cannot divide by 0 (log %d)", a->logid);
      r->has_ouch = true;
      r->ouch.whatOp = w->op;
      r->ouch.why = (ferry_str){why, (size_t)n};
      return 0;
    }
    r->has_success = true;
    r->success = w->num1 / w->num2;
    return 0;
  case tutorial_Operation_ADD:
    r->has_success = true;
    r->success = w->num1 + w->num2;
    return 0;
  default:
    ferry_reply_fail(call, "not implemented", NULL); /* the caller sees FERRY_STATUS_REMOTE */
    return 1;
  }
}

static int32_t zip(void *u, const tutorial_Calculator_zip_args *a, tutorial_Calculator_zip_result *r, ferry_arena *arena, ferry_reply *call) {
  (void)u, (void)a, (void)r, (void)arena, (void)call;
  count();
  return 0;
}

int main(void) {
  static const tutorial_Calculator_handlers handlers = {
      .getName = get_name,
      .getStatus = get_status,
      .getCounters = get_counters,
      .aliveSince = alive_since,
      .reinitialize = nothing_reinit,
      .shutdown = nothing_shutdown,
      .now = now,
      .ping = ping,
      .add = add,
      .calculate = calculate,
      .zip = zip,
  };
  ferry_error *error = NULL;
  ferry_service *service = ferry_service_new();
  ferry_server *server = NULL;
  if (tutorial_Calculator_register(service, &handlers, &error) != FERRY_STATUS_OK ||
      ferry_server_start("127.0.0.1:0", service, NULL, &server, &error) != FERRY_STATUS_OK) {
    fprintf(stderr, "%s\n", ferry_error_message(error));
    return 1;
  }
  printf("%u\n", (unsigned)ferry_server_port(server));
  fflush(stdout);
  while (getchar() != EOF) {
  }
  ferry_server_free(server);
  fprintf(stderr, "served %lu calls\n", calls);
  return 0;
}
