/*
 * Benchmark ceiling: bare rabbitmq-c, no JSON work, no threads, no event loop.
 *
 * The harness (bench/clients/ceiling.ts) builds this with
 *   cc -O2 bench/ceiling/ceiling.c -o bench/ceiling/ceiling $(pkg-config --cflags --libs librabbitmq)
 * and runs it once per repetition. It prints exactly one JSON line on stdout:
 *   {"ok":true,"elapsed_ns":<int>,"n":<int>,"cpu_us":<int>}  on success (cpu_us: user+sys CPU
 *                                                         of the timed section, getrusage)
 *   {"ok":false,"error":"<text>"}                        on failure (exit status 1)
 *
 * Modes (every mode gets the same first four arguments: host port vhost user; the password is read
 * from the environment variable BENCH_AMQP_PASSWORD so that it never shows in a process listing):
 *   publish          exchange routing_key queue n body warmup_key warmup_n
 *       Publishes n identical pre-built bodies fire-and-forget on channel 1, then polls a passive
 *       queue.declare of <queue> on channel 2 until message_count >= n. Timed: first publish ->
 *       the poll that sees n.
 *   publish-confirm  exchange routing_key n body warmup_key warmup_n window
 *       confirm.select on channel 1; at most <window> unconfirmed publishes in flight (when full,
 *       reads acks until at most window/2 remain). Timed: first publish -> last ack.
 *   consume          exchange queue routing_key n prefetch
 *       Declares exchange (topic) / queue / binding exactly as the other clients do, basic.qos,
 *       basic.consume (no_ack = 0), acks every delivery singly. Timed: exchange.declare -> the
 *       ack of the n-th delivery has been written.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

static void json_string_body(const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
}

static void fail(const char *what, const char *detail) {
  printf("{\"ok\":false,\"error\":\"");
  json_string_body(what);
  printf(": ");
  json_string_body(detail);
  printf("\"}\n");
  fflush(stdout);
  exit(1);
}

static void check_status(int status, const char *what) {
  if (status < 0) fail(what, amqp_error_string2(status));
}

static void check_reply(amqp_rpc_reply_t r, const char *what) {
  static char buf[512];
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_NONE:
      fail(what, "missing RPC reply");
      break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      fail(what, amqp_error_string2(r.library_error));
      break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *m = (amqp_connection_close_t *)r.reply.decoded;
        snprintf(buf, sizeof buf, "connection closed by broker %u %.*s", m->reply_code,
                 (int)m->reply_text.len, (char *)m->reply_text.bytes);
      } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = (amqp_channel_close_t *)r.reply.decoded;
        snprintf(buf, sizeof buf, "channel closed by broker %u %.*s", m->reply_code,
                 (int)m->reply_text.len, (char *)m->reply_text.bytes);
      } else {
        snprintf(buf, sizeof buf, "unexpected server method 0x%08X", r.reply.id);
      }
      fail(what, buf);
      break;
  }
}

/** User + system CPU time of this process in microseconds (getrusage), for CPU per message. */
static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long parse_long(const char *s, const char *what) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (!end || *end != '\0' || v < 0) fail("bad argument", what);
  return v;
}

static amqp_connection_state_t open_connection(const char *host, int port, const char *vhost,
                                               const char *user, const char *password) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t *socket = amqp_tcp_socket_new(conn);
  if (!socket) fail("socket", "amqp_tcp_socket_new failed");
  check_status(amqp_socket_open(socket, host, port), "connect");
  check_reply(amqp_login(conn, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user, password), "login");
  return conn;
}

static void open_channel(amqp_connection_state_t conn, amqp_channel_t ch) {
  amqp_channel_open(conn, ch);
  check_reply(amqp_get_rpc_reply(conn), "channel.open");
}

static void close_connection(amqp_connection_state_t conn) {
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

static uint32_t queue_depth(amqp_connection_state_t conn, amqp_channel_t ch, const char *queue) {
  amqp_queue_declare_ok_t *ok =
      amqp_queue_declare(conn, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "queue.declare (passive)");
  uint32_t depth = ok->message_count;
  amqp_maybe_release_buffers_on_channel(conn, ch);
  return depth;
}

static void publish_one(amqp_connection_state_t conn, const char *exchange, const char *key,
                        amqp_bytes_t body, const amqp_basic_properties_t *props) {
  check_status(amqp_basic_publish(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), 0, 0,
                                  props, body),
               "basic.publish");
}

/* Publisher-confirm bookkeeping: acks for a single queue arrive in order, but `multiple` and
 * single acks may mix, so track the highest fully confirmed tag plus out-of-order singles. */
typedef struct {
  uint64_t published;
  uint64_t confirmed;
  unsigned char *seen; /* seen[tag] for single acks above `confirmed` */
  uint64_t cap;
} confirms_t;

static void confirms_mark(confirms_t *c, uint64_t tag, int multiple) {
  if (tag > c->cap) fail("basic.ack", "delivery tag beyond what was published");
  if (multiple) {
    if (tag > c->confirmed) c->confirmed = tag;
  } else {
    c->seen[tag] = 1;
  }
  while (c->confirmed < c->published && c->seen[c->confirmed + 1]) c->confirmed++;
}

static void read_one_confirm(amqp_connection_state_t conn, confirms_t *c) {
  amqp_frame_t frame;
  check_status(amqp_simple_wait_frame(conn, &frame), "wait for confirm");
  if (frame.frame_type != AMQP_FRAME_METHOD) return;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      amqp_basic_ack_t *ack = (amqp_basic_ack_t *)frame.payload.method.decoded;
      confirms_mark(c, ack->delivery_tag, ack->multiple);
      break;
    }
    case AMQP_BASIC_NACK_METHOD:
      fail("confirm", "broker nacked a publish");
      break;
    case AMQP_CHANNEL_CLOSE_METHOD:
      fail("confirm", "channel closed by broker");
      break;
    case AMQP_CONNECTION_CLOSE_METHOD:
      fail("confirm", "connection closed by broker");
      break;
    default:
      break;
  }
  if (!amqp_frames_enqueued(conn)) amqp_maybe_release_buffers(conn);
}

static void publish_confirmed(amqp_connection_state_t conn, confirms_t *c, const char *exchange,
                              const char *key, amqp_bytes_t body, const amqp_basic_properties_t *props,
                              uint64_t n, uint64_t window) {
  for (uint64_t i = 0; i < n; i++) {
    if (c->published - c->confirmed >= window) {
      while (c->published - c->confirmed > window / 2) read_one_confirm(conn, c);
    }
    publish_one(conn, exchange, key, body, props);
    c->published++;
  }
  while (c->confirmed < c->published) read_one_confirm(conn, c);
}

static amqp_basic_properties_t json_props(void) {
  amqp_basic_properties_t props;
  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  return props;
}

static void emit(uint64_t elapsed, uint64_t n, uint64_t cpu) {
  printf("{\"ok\":true,\"elapsed_ns\":%llu,\"n\":%llu,\"cpu_us\":%llu}\n", (unsigned long long)elapsed,
         (unsigned long long)n, (unsigned long long)cpu);
  fflush(stdout);
}

static int mode_publish(amqp_connection_state_t conn, int argc, char **argv) {
  if (argc != 7) fail("usage", "publish exchange routing_key queue n body warmup_key warmup_n");
  const char *exchange = argv[0], *key = argv[1], *queue = argv[2];
  long n = parse_long(argv[3], "n");
  amqp_bytes_t body = amqp_cstring_bytes(argv[4]);
  const char *warmup_key = argv[5];
  long warmup_n = parse_long(argv[6], "warmup_n");
  amqp_basic_properties_t props = json_props();

  open_channel(conn, 1);
  open_channel(conn, 2);
  for (long i = 0; i < warmup_n; i++) publish_one(conn, exchange, warmup_key, body, &props);
  /* A synchronous method on channel 1 orders after its publishes: the warm-up is done. */
  (void)queue_depth(conn, 1, queue);

  uint64_t c0 = cpu_us();
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) publish_one(conn, exchange, key, body, &props);
  /* The same polling as the Node clients' observer (bench/scenarios/common.ts): sleep half the
     time the queue needs at the fill rate seen so far, 2 to 100 ms, so that the polls (whose CPU
     counts as the client's) are few but the last ones 2 ms apart. */
  uint64_t p0 = now_ns();
  long d0 = -1;
  for (;;) {
    long depth = (long)queue_depth(conn, 2, queue);
    if (depth >= n) break;
    if (d0 < 0) d0 = depth;
    double elapsed_ms = (double)(now_ns() - p0) / 1e6;
    double per_ms = elapsed_ms > 0 ? (double)(depth - d0) / elapsed_ms : 0;
    double pause_ms = per_ms > 0 ? (double)(n - depth) / per_ms / 2 : 0;
    if (pause_ms < 2) pause_ms = 2;
    if (pause_ms > 100) pause_ms = 100;
    struct timespec pause = {0, (long)(pause_ms * 1e6)};
    nanosleep(&pause, NULL);
  }
  emit(now_ns() - t0, (uint64_t)n, cpu_us() - c0);
  return 0;
}

static int mode_publish_confirm(amqp_connection_state_t conn, int argc, char **argv) {
  if (argc != 7) fail("usage", "publish-confirm exchange routing_key n body warmup_key warmup_n window");
  const char *exchange = argv[0], *key = argv[1];
  long n = parse_long(argv[2], "n");
  amqp_bytes_t body = amqp_cstring_bytes(argv[3]);
  const char *warmup_key = argv[4];
  long warmup_n = parse_long(argv[5], "warmup_n");
  long window = parse_long(argv[6], "window");
  if (window < 1) fail("bad argument", "window");
  amqp_basic_properties_t props = json_props();

  open_channel(conn, 1);
  amqp_confirm_select(conn, 1);
  check_reply(amqp_get_rpc_reply(conn), "confirm.select");

  confirms_t c = {0, 0, NULL, (uint64_t)(n + warmup_n)};
  c.seen = calloc((size_t)c.cap + 2, 1);
  if (!c.seen) fail("calloc", "out of memory");

  publish_confirmed(conn, &c, exchange, warmup_key, body, &props, (uint64_t)warmup_n, (uint64_t)window);
  uint64_t c0 = cpu_us();
  uint64_t t0 = now_ns();
  publish_confirmed(conn, &c, exchange, key, body, &props, (uint64_t)n, (uint64_t)window);
  emit(now_ns() - t0, (uint64_t)n, cpu_us() - c0);
  free(c.seen);
  return 0;
}

static int mode_consume(amqp_connection_state_t conn, int argc, char **argv) {
  if (argc != 5) fail("usage", "consume exchange queue routing_key n prefetch");
  const char *exchange = argv[0], *queue = argv[1], *key = argv[2];
  long n = parse_long(argv[3], "n");
  long prefetch = parse_long(argv[4], "prefetch");

  open_channel(conn, 1);
  uint64_t c0 = cpu_us();
  uint64_t t0 = now_ns();
  amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("topic"), 0, 0, 0, 0,
                        amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "exchange.declare");
  amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "queue.declare");
  amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                  amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "queue.bind");
  amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, 0);
  check_reply(amqp_get_rpc_reply(conn), "basic.qos");
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "basic.consume");

  for (long got = 0; got < n;) {
    amqp_envelope_t env;
    amqp_maybe_release_buffers(conn);
    amqp_rpc_reply_t r = amqp_consume_message(conn, &env, NULL, 0);
    check_reply(r, "consume");
    check_status(amqp_basic_ack(conn, 1, env.delivery_tag, 0), "basic.ack");
    amqp_destroy_envelope(&env);
    got++;
  }
  emit(now_ns() - t0, (uint64_t)n, cpu_us() - c0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fail("usage", "ceiling <publish|publish-confirm|consume> host port vhost user args...");
  }
  const char *mode = argv[1];
  const char *password = getenv("BENCH_AMQP_PASSWORD");
  amqp_connection_state_t conn = open_connection(argv[2], (int)parse_long(argv[3], "port"), argv[4], argv[5],
                                                 password ? password : "guest");
  int rc;
  if (strcmp(mode, "publish") == 0) {
    rc = mode_publish(conn, argc - 6, argv + 6);
  } else if (strcmp(mode, "publish-confirm") == 0) {
    rc = mode_publish_confirm(conn, argc - 6, argv + 6);
  } else if (strcmp(mode, "consume") == 0) {
    rc = mode_consume(conn, argc - 6, argv + 6);
  } else {
    fail("usage", "unknown mode");
    rc = 1;
  }
  close_connection(conn);
  return rc;
}
