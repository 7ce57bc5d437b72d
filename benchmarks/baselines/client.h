/*
 * What the C clients share: a monotonic clock and a TCP connection with
 * Nagle's delay off (like fib-perf2). Static functions: each client is one
 * translation unit.
 */
#ifndef FIB_BASELINE_CLIENT_H
#define FIB_BASELINE_CLIENT_H

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connected socket to host:port, or -1 with the reason on stderr (prefixed with `name`). */
static int connect_to(const char *name, const char *host, const char *port) {
  struct addrinfo hints = {0}, *res, *ai;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: %s: %s\n", name, host, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot connect to %s:%s: %s\n", name, host, port, strerror(errno));
    return -1;
  }
  int one = 1; /* like fib-perf2: no Nagle delay on small requests */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

#endif
