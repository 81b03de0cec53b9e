/* A Ferry server written in C: serves `echo` (the request back), `reverse` (the request
 * reversed, refusing requests over 1 KiB) and `fail` (always fails with a message).
 * Prints the port it listens on, then serves until its standard input closes.
 *
 *   echo_server [address]     (default 127.0.0.1:0) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry.h"

static int32_t echo(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  (void)user_data;
  return ferry_reply_set(reply, request, len, NULL) == FERRY_STATUS_OK ? 0 : 1;
}

static int32_t reverse(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  unsigned long *calls = user_data;
  __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
  uint8_t out[1024];
  if (len > sizeof out) {
    ferry_reply_fail(reply, "reverse: request over 1024 bytes", NULL);
    return 1;
  }
  for (size_t i = 0; i < len; i++) out[i] = request[len - 1 - i];
  return ferry_reply_set(reply, out, len, NULL) == FERRY_STATUS_OK ? 0 : 1;
}

static int32_t fail(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  (void)user_data, (void)request, (void)len;
  ferry_reply_fail(reply, "fail: this method always fails", NULL);
  return 7;
}

static int die(const char *what, ferry_error *error) {
  fprintf(stderr, "%s: %s (%s)\n", what, ferry_error_message(error),
          ferry_status_name(ferry_error_status(error)));
  ferry_error_free(error);
  return 1;
}

int main(int argc, char **argv) {
  static unsigned long reverse_calls;
  ferry_error *error = NULL;
  ferry_service *service = ferry_service_new();
  if (ferry_service_add(service, ferry_method_id("echo"), echo, NULL, &error) ||
      ferry_service_add(service, ferry_method_id("reverse"), reverse, &reverse_calls, &error) ||
      ferry_service_add(service, ferry_method_id("fail"), fail, NULL, &error)) {
    ferry_service_free(service);
    return die("ferry_service_add", error);
  }
  ferry_server *server = NULL;
  ferry_server_options options = {0};
  options.workers = 2;
  if (ferry_server_start(argc > 1 ? argv[1] : "127.0.0.1:0", service, &options, &server, &error))
    return die("ferry_server_start", error);
  printf("%u\n", (unsigned)ferry_server_port(server));
  fflush(stdout);
  while (getchar() != EOF) {
  }
  ferry_server_free(server);
  fprintf(stderr, "reverse served %lu calls\n", reverse_calls);
  return 0;
}
