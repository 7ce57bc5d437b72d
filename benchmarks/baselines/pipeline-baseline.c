/*
 * pipeline-baseline: pipelined load a machine can drive with little CPU, for
 * the dispatch figures (fib-perf2 --connections C --pipeline P costs a core
 * of its own at these rates). C connections, each keeping P requests "N\n"
 * in flight: every answer read is checked and replaced by a new request, the
 * replacements of one read sent in one write. Prints one summary line.
 *
 *   bin/pipeline-baseline [--host 127.0.0.1] [--port 25000] [--duration 10] [--n 1]
 *                         [--connections 4] [--pipeline 64]
 */
#include "client.h"

#include <poll.h>
#include <stdlib.h>

#define MAX_CONNECTIONS 256
#define MAX_PIPELINE 4096
#define LINE_MAX_BYTES 24

/* Writes all of buf (a blocking socket: the server reads as it answers). */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      perror("pipeline-baseline: write");
      return -1;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *port = "25000";
  double duration = 10;
  int n = 1, connections = 4, pipeline = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0) host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) port = argv[i + 1];
    else if (strcmp(argv[i], "--duration") == 0) duration = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--n") == 0) n = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--connections") == 0) connections = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--pipeline") == 0) pipeline = atoi(argv[i + 1]);
    else {
      fprintf(stderr,
              "usage: pipeline-baseline [--host H] [--port P] [--duration S] [--n N] [--connections C] "
              "[--pipeline P]\n");
      return 2;
    }
  }
  if (duration <= 0 || n < 0 || n > 78 || connections < 1 || connections > MAX_CONNECTIONS || pipeline < 1 ||
      pipeline > MAX_PIPELINE) {
    fprintf(stderr, "pipeline-baseline: --duration > 0, --n in 0..78, --connections in 1..%d, --pipeline in 1..%d\n",
            MAX_CONNECTIONS, MAX_PIPELINE);
    return 2;
  }
  long long a = 0, b = 1; /* expected answer, fib(0) = 0 */
  for (int i = 0; i < n; i++) {
    long long t = a + b;
    a = b;
    b = t;
  }
  char request[8], expected[LINE_MAX_BYTES];
  int request_len = snprintf(request, sizeof request, "%d\n", n);
  int expected_len = snprintf(expected, sizeof expected, "%lld\n", a);

  /* Enough requests back to back for a whole pipeline's refill. */
  size_t burst_len = (size_t)request_len * (size_t)pipeline;
  char *burst = malloc(burst_len);
  if (burst == NULL) return 1;
  for (int i = 0; i < pipeline; i++) memcpy(burst + (size_t)i * (size_t)request_len, request, (size_t)request_len);

  struct pollfd fds[MAX_CONNECTIONS];
  char line[MAX_CONNECTIONS][LINE_MAX_BYTES]; /* each connection's partial answer line */
  int line_len[MAX_CONNECTIONS];
  for (int c = 0; c < connections; c++) {
    fds[c].fd = connect_to("pipeline-baseline", host, port);
    if (fds[c].fd < 0) return 1;
    fds[c].events = POLLIN;
    line_len[c] = 0;
    if (write_all(fds[c].fd, burst, burst_len) != 0) return 1;
  }

  static char buf[1 << 16];
  long long total = 0, wrong = 0;
  double start = now_seconds(), end = start + duration, t = start;
  while (t < end) {
    int ready = poll(fds, (nfds_t)connections, 100);
    if (ready < 0 && errno != EINTR) {
      perror("pipeline-baseline: poll");
      return 1;
    }
    for (int c = 0; c < connections && ready > 0; c++) {
      if (fds[c].revents == 0) continue;
      ssize_t r = read(fds[c].fd, buf, sizeof buf);
      if (r <= 0) {
        fprintf(stderr, "pipeline-baseline: connection %s\n", r == 0 ? "closed by the server" : strerror(errno));
        return 1;
      }
      int answers = 0;
      for (ssize_t i = 0; i < r; i++) {
        if (line_len[c] < LINE_MAX_BYTES) line[c][line_len[c]] = buf[i];
        line_len[c]++;
        if (buf[i] != '\n') continue;
        if (line_len[c] != expected_len || memcmp(line[c], expected, (size_t)expected_len) != 0) wrong++;
        line_len[c] = 0;
        answers++;
      }
      total += answers;
      if (answers > 0 && write_all(fds[c].fd, burst, (size_t)request_len * (size_t)answers) != 0) return 1;
    }
    t = now_seconds();
  }
  for (int c = 0; c < connections; c++) close(fds[c].fd);
  double elapsed = t - start;
  printf("total %lld answers in %.2f s: %.0f reqs/sec (%lld wrong)\n", total, elapsed, total / elapsed, wrong);
  free(burst);
  return wrong > 0 ? 1 : 0;
}
