/* A Ferry client written in C, run against a server at argv[1] ("host:port") that serves
 * `echo`, `reverse` and `fail` (a Rust server in the tests, or echo_server.c). Checks every
 * outcome and prints "ok" last; exits non-zero at the first surprise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry.h"

static int failures;

#define CHECK(cond, ...)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "client.c:%d: check failed: %s: ", __LINE__, #cond);              \
      fprintf(stderr, __VA_ARGS__);                                                       \
      fprintf(stderr, "\n");                                                              \
      failures++;                                                                         \
    }                                                                                     \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: client host:port\n");
    return 2;
  }
  ferry_error *error = NULL;
  ferry_client *client = NULL;
  ferry_client_options options = {0};
  options.default_deadline_ms = 5000;
  ferry_status status = ferry_client_connect(argv[1], &options, &client, &error);
  if (status != FERRY_STATUS_OK) {
    fprintf(stderr, "connect: %s\n", ferry_error_message(error));
    return 1;
  }

  /* A blocking call. */
  const char *hello = "hello from C";
  ferry_bytes reply = {0};
  status = ferry_client_call(client, ferry_method_id("echo"), (const uint8_t *)hello,
                             strlen(hello), NULL, &reply, &error);
  CHECK(status == FERRY_STATUS_OK, "%s", ferry_error_message(error));
  CHECK(reply.len == strlen(hello) && memcmp(reply.data, hello, reply.len) == 0,
        "echo returned %zu bytes", reply.len);
  ferry_bytes_free(&reply);
  CHECK(reply.data == NULL && reply.len == 0, "ferry_bytes_free resets the struct");

  /* An empty request (NULL data with length 0 is allowed). */
  status = ferry_client_call(client, ferry_method_id("echo"), NULL, 0, NULL, &reply, &error);
  CHECK(status == FERRY_STATUS_OK && reply.len == 0, "empty echo: %s", ferry_error_message(error));
  ferry_bytes_free(&reply);

  /* 64 calls in flight on one connection, each with its own payload. */
  enum { N = 64 };
  ferry_call *calls[N];
  char payloads[N][16];
  for (int i = 0; i < N; i++) {
    int len = snprintf(payloads[i], sizeof payloads[i], "call-%02d", i);
    ferry_call_options call_options = {0};
    call_options.deadline_ms = 5000;
    call_options.idempotent = true;
    status = ferry_client_start(client, ferry_method_id("reverse"), (const uint8_t *)payloads[i],
                                (size_t)len, &call_options, &calls[i], &error);
    CHECK(status == FERRY_STATUS_OK, "start %d: %s", i, ferry_error_message(error));
  }
  for (int i = 0; i < N; i++) {
    status = ferry_call_wait(calls[i], &reply, &error);
    CHECK(status == FERRY_STATUS_OK, "wait %d: %s", i, ferry_error_message(error));
    size_t len = strlen(payloads[i]);
    int same = reply.len == len;
    for (size_t k = 0; same && k < len; k++) same = reply.data[k] == (uint8_t)payloads[i][len - 1 - k];
    CHECK(same, "reverse of %s came back wrong", payloads[i]);
    ferry_bytes_free(&reply);
  }

  /* A handler failure reaches the caller with the handler's message. */
  status = ferry_client_call(client, ferry_method_id("fail"), NULL, 0, NULL, &reply, &error);
  CHECK(status == FERRY_STATUS_REMOTE, "fail gave %s", ferry_status_name(status));
  CHECK(error && strstr(ferry_error_message(error), "always fails"), "message: %s",
        ferry_error_message(error));
  ferry_error_free(error);
  error = NULL;

  /* A method the server does not have. */
  status = ferry_client_call(client, ferry_method_id("no_such_method"), NULL, 0, NULL, &reply,
                             &error);
  CHECK(status == FERRY_STATUS_PROTOCOL, "unknown method gave %s: %s", ferry_status_name(status),
        ferry_error_message(error));
  ferry_error_free(error);
  error = NULL;

  /* Bad arguments are reported, not crashed on. */
  status = ferry_client_call(NULL, 1, NULL, 0, NULL, &reply, &error);
  CHECK(status == FERRY_STATUS_INVALID_ARGUMENT && strstr(ferry_error_message(error), "client"),
        "NULL client: %s", ferry_error_message(error));
  ferry_error_free(error);
  error = NULL;
  status = ferry_client_call(client, 1, NULL, 5, NULL, &reply, &error);
  CHECK(status == FERRY_STATUS_INVALID_ARGUMENT, "NULL request with length 5: %s",
        ferry_status_name(status));
  ferry_error_free(error);
  error = NULL;
  ferry_client *other = NULL;
  status = ferry_client_connect("not an address", NULL, &other, &error);
  CHECK(status == FERRY_STATUS_INVALID_ARGUMENT && strstr(ferry_error_message(error), "host:port"),
        "bad address: %s", ferry_error_message(error));
  ferry_error_free(error);
  error = NULL;

  /* A cancelled call ends as cancelled. */
  ferry_call *call = NULL;
  status = ferry_client_start(client, ferry_method_id("echo"), (const uint8_t *)"x", 1, NULL,
                              &call, &error);
  CHECK(status == FERRY_STATUS_OK, "start: %s", ferry_error_message(error));
  ferry_call_cancel(call);
  status = ferry_call_wait(call, &reply, NULL);
  CHECK(status == FERRY_STATUS_CANCELLED || status == FERRY_STATUS_OK, "cancelled call gave %s",
        ferry_status_name(status));
  ferry_bytes_free(&reply);

  ferry_client_free(client);
  if (failures) return 1;
  printf("ok\n");
  return 0;
}
