/* echo.c - the echo benchmark's ceiling (bench/echo_run): one thread,
 * edge-triggered epoll, no runtime. Each connection owns a 4 KiB buffer
 * (malloc'd with it, as gort's and Go's echo servers hold one per
 * connection); every readable event reads and writes back what came until
 * the socket is drained.
 *
 *   build/bin/epoll_echo [--addr 127.0.0.1:7001]
 *
 * Per message this does what an event loop cannot avoid: one read(), one
 * write(), and a share of one epoll_wait(). A read shorter than the buffer
 * means the receive queue was empty at that instant, so it does not read
 * again to see EAGAIN (edge triggering raises a new event when more comes),
 * unless the event also reported a hangup. A write the socket cannot take
 * whole is finished on EPOLLOUT (registered once, with EPOLLIN), and the
 * connection reads nothing more until then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 4096

struct conn {
  int fd;
  size_t pending; /* bytes of buf not yet written back */
  size_t off;     /* where they start */
  char* buf;      /* BUF_SIZE bytes */
};

static void parse_addr(const char* s, struct sockaddr_in* sa) {
  char host[64];
  const char* colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) {
    fprintf(stderr, "epoll_echo: bad address %s\n", s);
    exit(2);
  }
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((unsigned short)atoi(colon + 1));
  if (host[0] == 0) {
    sa->sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
    fprintf(stderr, "epoll_echo: bad host %s\n", host);
    exit(2);
  }
}

static void drop(struct conn* c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->buf);
  free(c);
}

/* Writes back what is pending. Returns -1 on error, 0 if the socket is
 * full (EPOLLOUT will say when to go on), 1 when all is written. */
static int flush(struct conn* c) {
  while (c->pending > 0) {
    ssize_t w = write(c->fd, c->buf + c->off, c->pending);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? 0 : -1;
    }
    c->off += (size_t)w;
    c->pending -= (size_t)w;
  }
  return 1;
}

/* Returns -1 when the connection is done (EOF, error). */
static int serve(struct conn* c, unsigned events) {
  int hup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  if (c->pending > 0) {
    int f = flush(c);
    if (f <= 0) return f < 0 ? -1 : 0;
  }
  for (;;) {
    ssize_t r = read(c->fd, c->buf, BUF_SIZE);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? 0 : -1;
    }
    c->off = 0;
    c->pending = (size_t)r;
    int f = flush(c);
    if (f <= 0) return f < 0 ? -1 : 0;
    if (r < BUF_SIZE && !hup) return 0; /* drained */
  }
}

int main(int argc, char** argv) {
  const char* addr = "127.0.0.1:7001";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else {
      fprintf(stderr, "usage: epoll_echo [--addr host:port]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in sa;
  parse_addr(addr, &sa);
  int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ln < 0 || bind(ln, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(ln, 4096) != 0) {
    perror("epoll_echo: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ln, &ev) != 0) {
    perror("epoll_echo: epoll");
    return 1;
  }
  fprintf(stderr, "epoll_echo: listening on %s\n", addr);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_echo: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      struct conn* c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN) perror("epoll_echo: accept"); /* EMFILE etc.: retried on the next event */
            break;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as Go and gort do */
          struct conn* nc = malloc(sizeof *nc);
          char* buf = malloc(BUF_SIZE);
          if (nc == NULL || buf == NULL) {
            fprintf(stderr, "epoll_echo: out of memory\n");
            return 1;
          }
          nc->fd = fd;
          nc->pending = nc->off = 0;
          nc->buf = buf;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = nc};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0) {
            perror("epoll_echo: epoll_ctl");
            drop(nc);
          }
        }
        continue;
      }
      if (serve(c, events[i].events) < 0) drop(c);
    }
  }
}
