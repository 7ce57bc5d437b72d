/*
 * perf2-baseline: the fastest honest perf2 a machine can run, for comparison
 * with fib-perf2 --connections 1 --pipeline 1. One blocking TCP connection:
 * send "N\n", read until the answer's "\n", check it, repeat, for a given
 * number of seconds. Prints "R reqs/sec" once a second, as perf2 does, then
 * one summary line.
 *
 *   bin/perf2-baseline [--host 127.0.0.1] [--port 25000] [--duration 10] [--n 1]
 */
#include "client.h"

#include <stdlib.h>

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *port = "25000";
  double duration = 10;
  int n = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0) host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) port = argv[i + 1];
    else if (strcmp(argv[i], "--duration") == 0) duration = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--n") == 0) n = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: perf2-baseline [--host H] [--port P] [--duration S] [--n N]\n");
      return 2;
    }
  }
  if (duration <= 0 || n < 0 || n > 78) {
    fprintf(stderr, "perf2-baseline: --duration must be > 0 and --n in 0..78\n");
    return 2;
  }
  long long a = 0, b = 1; /* expected answer, fib(0) = 0 */
  for (int i = 0; i < n; i++) { long long t = a + b; a = b; b = t; }
  char request[8], expected[24];
  int request_len = snprintf(request, sizeof request, "%d\n", n);
  int expected_len = snprintf(expected, sizeof expected, "%lld\n", a);

  int fd = connect_to("perf2-baseline", host, port);
  if (fd < 0) return 1;

  char buf[256];
  long long total = 0, second_count = 0, wrong = 0;
  double start = now_seconds(), second_start = start, end = start + duration, t = start;
  while (t < end) {
    if (write(fd, request, request_len) != request_len) {
      perror("perf2-baseline: write");
      return 1;
    }
    int got = 0; /* answers are tiny: read until the line is complete */
    for (;;) {
      ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
      if (r <= 0) {
        fprintf(stderr, "perf2-baseline: connection %s\n", r == 0 ? "closed by the server" : strerror(errno));
        return 1;
      }
      got += (int)r;
      if (buf[got - 1] == '\n' || got == (int)sizeof buf - 1) break;
    }
    if (got != expected_len || memcmp(buf, expected, expected_len) != 0) wrong++;
    total++;
    second_count++;
    t = now_seconds(); /* vDSO clock: tens of ns, negligible next to a round trip */
    if (t - second_start >= 1) {
      printf("%.0f reqs/sec\n", second_count / (t - second_start));
      fflush(stdout);
      second_count = 0;
      second_start = t;
    }
  }
  close(fd);
  double elapsed = t - start;
  printf("total %lld answers in %.2f s: %.0f reqs/sec (%lld wrong)\n", total, elapsed, total / elapsed, wrong);
  return wrong > 0 ? 1 : 0;
}
