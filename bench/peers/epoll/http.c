/* http.c - the HTTP benchmark's ceiling: one thread, edge-triggered epoll,
 * answering every complete request head ("\r\n\r\n") with a fixed
 * response. Not a server (no parsing, no bodies, no limits): the cost of the
 * kernel's loopback TCP plus a trivial scan, so a real server's overhead
 * shows as the distance to it.
 *
 *   build/bin/epoll_http [--addr 127.0.0.1:8082]
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

/* The same bytes gort and Go send for /healthz (Date fixed). */
static const char kResponse[] =
    "HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 12:00:00 GMT\r\nContent-Length: 3\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nok\n";

struct conn {
  int fd;
  int match; /* how much of "\r\n\r\n" the previous read ended with */
};

static void parse_addr(const char* s, struct sockaddr_in* sa) {
  char host[64];
  const char* colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) {
    fprintf(stderr, "epoll_http: bad address %s\n", s);
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
    fprintf(stderr, "epoll_http: bad host %s\n", host);
    exit(2);
  }
}

int main(int argc, char** argv) {
  const char* addr = "127.0.0.1:8082";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else {
      fprintf(stderr, "usage: epoll_http [--addr host:port]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in sa;
  parse_addr(addr, &sa);
  int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ln, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(ln, 4096) != 0) {
    perror("epoll_http: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ln, &ev);
  fprintf(stderr, "epoll_http: listening on %s\n", addr);
  struct epoll_event events[256];
  char buf[4096];
  size_t rlen = sizeof kResponse - 1;
  char* out = malloc(rlen * 64);
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      struct conn* c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int closed = 0;
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r == 0) {
          closed = 1;
          break;
        }
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) closed = 1;
          break;
        }
        /* Count request heads: "\r\n\r\n", possibly split across reads. */
        int heads = 0;
        static const char kEnd[] = "\r\n\r\n";
        for (ssize_t k = 0; k < r; k++) {
          if (buf[k] == kEnd[c->match]) {
            if (++c->match == 4) {
              heads++;
              c->match = 0;
            }
          } else {
            c->match = buf[k] == '\r' ? 1 : 0;
          }
        }
        while (heads > 0) {
          int batch = heads > 64 ? 64 : heads;
          for (int h = 0; h < batch; h++) memcpy(out + (size_t)h * rlen, kResponse, rlen);
          size_t len = (size_t)batch * rlen, off = 0;
          while (off < len) {
            ssize_t w = write(c->fd, out + off, len - off);
            if (w < 0) {
              if (errno == EINTR) continue;
              closed = 1; /* a full socket buffer: a benchmark client never lets it fill */
              break;
            }
            off += (size_t)w;
          }
          heads -= batch;
          if (closed) break;
        }
        if (closed) break;
      }
      if (closed) {
        close(c->fd);
        free(c);
      }
    }
  }
}
