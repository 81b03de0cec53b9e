/* A Ferry client written in C that talks mutual TLS to the server at argv[1]: it trusts
 * the CA in argv[2], presents the certificate argv[3] with key argv[4], and calls `whoami`,
 * whose reply (the subject the server verified) it prints. Also checks that unreadable
 * settings are reported with the file named. */
#include <stdio.h>
#include <string.h>

#include "ferry.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: tls_client host:port ca.pem cert.pem key.pem\n");
    return 2;
  }
  ferry_error *error = NULL;

  /* A missing file is named in the error. */
  ferry_tls *bad = NULL;
  ferry_status status = ferry_tls_client("/nonexistent/ca.pem", "localhost", NULL, NULL, &bad,
                                         &error);
  if (status != FERRY_STATUS_TLS || strstr(ferry_error_message(error), "/nonexistent/ca.pem") == NULL) {
    fprintf(stderr, "expected FERRY_STATUS_TLS naming the file, got %s: %s\n",
            ferry_status_name(status), error ? ferry_error_message(error) : "(none)");
    return 1;
  }
  ferry_error_free(error);
  error = NULL;

  ferry_tls *tls = NULL;
  status = ferry_tls_client(argv[2], "localhost", argv[3], argv[4], &tls, &error);
  if (status != FERRY_STATUS_OK) {
    fprintf(stderr, "tls: %s\n", ferry_error_message(error));
    return 1;
  }
  ferry_client_options options = {0};
  options.default_deadline_ms = 5000;
  options.tls = tls;
  ferry_client *client = NULL;
  status = ferry_client_connect(argv[1], &options, &client, &error);
  ferry_tls_free(tls); /* the client keeps its own copy */
  if (status != FERRY_STATUS_OK) {
    fprintf(stderr, "connect: %s\n", ferry_error_message(error));
    return 1;
  }
  ferry_bytes reply = {0};
  status = ferry_client_call(client, ferry_method_id("whoami"), NULL, 0, NULL, &reply, &error);
  if (status != FERRY_STATUS_OK) {
    fprintf(stderr, "whoami: %s: %s\n", ferry_status_name(status), ferry_error_message(error));
    return 1;
  }
  printf("%.*s\n", (int)reply.len, (const char *)reply.data);
  ferry_bytes_free(&reply);
  ferry_client_free(client);
  return 0;
}
