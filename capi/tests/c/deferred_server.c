/* A Ferry server in C whose handlers answer after they return (ferry_service_add_deferred),
 * from a thread of the program's own: the shape of callback-style C code (an event loop, a
 * completion queue) that must not hold one of Ferry's workers while it waits.
 *
 * - `batch`: the handler copies the request, defers the answer and returns. A responder
 *   thread waits until BATCH calls are pending, then answers them all, newest first, with
 *   the request reversed. With one worker, a handler that blocked would never let BATCH
 *   calls in: that this method answers at all shows none holds the worker.
 * - `inline`: registered deferrable, but answers by returning (the request back).
 * - `dropped`: defers and frees the responder unanswered (the call fails, having run).
 * - `plain`: registered with ferry_service_add; ferry_reply_defer is refused there, and
 *   the handler fails the call with the error's message.
 *
 * Prints its port, serves until its standard input closes, then reports on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry.h"

#define BATCH 16

struct pending {
  ferry_responder *responder;
  uint8_t *request;
  size_t len;
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct pending calls[BATCH];
  size_t count;
  int stop;
  unsigned long answered;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0}}, 0, 0, 0};

static int32_t batch(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  (void)user_data;
  ferry_responder *responder = NULL;
  ferry_error *error = NULL;
  if (ferry_reply_defer(reply, &responder, &error) != FERRY_STATUS_OK) {
    ferry_reply_fail(reply, ferry_error_message(error), NULL);
    ferry_error_free(error);
    return 1;
  }
  uint8_t *copy = malloc(len ? len : 1);
  memcpy(copy, request, len);
  pthread_mutex_lock(&queue.lock);
  if (queue.count == BATCH) { /* more than a batch at once: refuse this one, answered */
    pthread_mutex_unlock(&queue.lock);
    free(copy);
    ferry_responder_fail(responder, "batch: the batch is full", NULL);
    return 0;
  }
  queue.calls[queue.count++] = (struct pending){responder, copy, len};
  pthread_cond_broadcast(&queue.changed);
  pthread_mutex_unlock(&queue.lock);
  return 0; /* not the answer: the responder thread gives it */
}

static void *responder_thread(void *unused) {
  (void)unused;
  pthread_mutex_lock(&queue.lock);
  for (;;) {
    while (queue.count < BATCH && !queue.stop) pthread_cond_wait(&queue.changed, &queue.lock);
    if (queue.stop && queue.count < BATCH) break;
    while (queue.count > 0) {
      struct pending p = queue.calls[--queue.count];
      for (size_t i = 0; i < p.len / 2; i++) {
        uint8_t t = p.request[i];
        p.request[i] = p.request[p.len - 1 - i];
        p.request[p.len - 1 - i] = t;
      }
      if (ferry_responder_remaining_ms(p.responder) == 0 ||
          ferry_responder_is_cancelled(p.responder)) {
        ferry_responder_free(p.responder); /* nobody reads the answer */
      } else if (ferry_responder_reply(p.responder, p.request, p.len, NULL) == FERRY_STATUS_OK) {
        queue.answered++;
      }
      free(p.request);
    }
  }
  /* Calls still pending at the end: freed unanswered. */
  while (queue.count > 0) {
    struct pending p = queue.calls[--queue.count];
    ferry_responder_free(p.responder);
    free(p.request);
  }
  pthread_mutex_unlock(&queue.lock);
  return NULL;
}

static int32_t inline_echo(void *user_data, const uint8_t *request, size_t len,
                           ferry_reply *reply) {
  (void)user_data;
  return ferry_reply_set(reply, request, len, NULL) == FERRY_STATUS_OK ? 0 : 1;
}

static int32_t dropped(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  (void)user_data, (void)request, (void)len;
  ferry_responder *responder = NULL;
  if (ferry_reply_defer(reply, &responder, NULL) != FERRY_STATUS_OK) return 1;
  ferry_responder_free(responder);
  return 0;
}

static int32_t plain(void *user_data, const uint8_t *request, size_t len, ferry_reply *reply) {
  (void)user_data, (void)request, (void)len;
  ferry_responder *responder = NULL;
  ferry_error *error = NULL;
  if (ferry_reply_defer(reply, &responder, &error) == FERRY_STATUS_OK) {
    ferry_responder_free(responder);
    ferry_reply_fail(reply, "plain: ferry_reply_defer was allowed", NULL);
    return 1;
  }
  ferry_reply_fail(reply, ferry_error_message(error), NULL);
  ferry_error_free(error);
  return 1;
}

static int die(const char *what, ferry_error *error) {
  fprintf(stderr, "%s: %s (%s)\n", what, ferry_error_message(error),
          ferry_status_name(ferry_error_status(error)));
  ferry_error_free(error);
  return 1;
}

int main(void) {
  ferry_error *error = NULL;
  ferry_service *service = ferry_service_new();
  if (ferry_service_add_deferred(service, ferry_method_id("batch"), batch, NULL, &error) ||
      ferry_service_add_deferred(service, ferry_method_id("inline"), inline_echo, NULL, &error) ||
      ferry_service_add_deferred(service, ferry_method_id("dropped"), dropped, NULL, &error) ||
      ferry_service_add(service, ferry_method_id("plain"), plain, NULL, &error)) {
    ferry_service_free(service);
    return die("ferry_service_add", error);
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, responder_thread, NULL) != 0) return 1;
  ferry_server *server = NULL;
  ferry_server_options options = {0};
  options.workers = 1;
  if (ferry_server_start("127.0.0.1:0", service, &options, &server, &error))
    return die("ferry_server_start", error);
  printf("%u\n", (unsigned)ferry_server_port(server));
  fflush(stdout);
  while (getchar() != EOF) {
  }
  ferry_server_free(server);
  pthread_mutex_lock(&queue.lock);
  queue.stop = 1;
  pthread_cond_broadcast(&queue.changed);
  pthread_mutex_unlock(&queue.lock);
  pthread_join(thread, NULL);
  fprintf(stderr, "answered %lu deferred calls\n", queue.answered);
  return 0;
}
