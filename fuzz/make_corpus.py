#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<name>/ (run from
anywhere; the files are committed, this script documents their layout).
Each seed is small and aims at one path of its target."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# fuzz_bufio: [flags][size][len lo][len hi][payload][n][n chunks][ops...]
def bufio(name, flags, size, payload, chunks, ops):
    put("bufio", name, bytes([flags, size]) + struct.pack("<H", len(payload)) + payload +
        bytes([len(chunks)]) + bytes(chunks) + bytes(ops))

# Reader ops: 0 peek n16, 1 read n16, 2 read_slice d, 3 read_line max16,
# 4 read_until d max16, 5 read_full n16, 6 discard n16, 7 fill, 8 view+consume k,
# 9 copy_n n16, 10 reset
lines = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody line\nlast"
bufio("lines", 0, 16, lines, [3, 1, 7, 0, 5], [3, 64, 0] * 6)
bufio("lines-asio-reset", 0x06, 32, lines, [1] * 20, [3, 8, 0, 3, 8, 0, 7, 8, 4, 3, 3, 0])
bufio("line-too-long", 0, 16, b"x" * 40 + b"\n", [9, 9], [3, 10, 0])
bufio("cr-split", 0x08, 16, b"ab\r\ncd\r\r\nef\r", [3, 1, 1, 2, 1], [3, 5, 0, 3, 5, 0, 3, 5, 0, 3, 5, 0])
bufio("peek-slice", 0, 16, b"aaaa,bbbbbbbbbbbbbbbbbbbbbb,c", [4, 30], [0, 8, 0, 0, 40, 0, 2, 44, 2, 44, 2, 44, 8, 3])
bufio("until", 0, 20, b"k1=v1&k2=v2&&long=" + b"z" * 30, [2, 5, 0, 0, 9], [4, 38, 16, 0, 4, 38, 16, 0, 4, 38, 4, 0, 4, 38, 64, 0])
bufio("full-discard", 0x0c, 16, bytes(range(100)), [7, 13, 0, 50], [5, 10, 0, 6, 30, 0, 5, 70, 0, 9, 5, 0, 10, 1, 200, 0])
bufio("empty-reads", 0, 16, b"abc", [0] * 120, [1, 8, 0, 7, 1, 8, 0])
bufio("writer-small", 0x01, 16, b"hello, world; " * 8, [], [0, 5, 0, 2, 33, 1, 20, 0, 3, 0, 40, 0, 3])
bufio("writer-budget", 0x01, 16, b"0123456789" * 10, [5], [0, 10, 0, 1, 30, 0, 2, 65, 0, 50, 0, 3, 4, 0, 0, 5, 0, 3])
bufio("writer-gather-quiet", 0x15, 16, b"abcdefghij" * 10, [9], [0, 3, 0, 0, 60, 0, 3, 2, 120, 0, 3])
bufio("writer-asio", 0x03, 16, b"xyz" * 40, [3, 1, 4, 1, 5, 9], [0, 10, 0, 0, 50, 0, 3, 0, 7, 0, 3])

# fuzz_codec: [kind][a][b][c][d][e][delimiter bytes if kind 1][n][n chunks][stream]
def codec(name, cfg, delim, chunks, stream):
    put("codec", name, bytes(cfg) + delim + bytes([len(chunks)]) + bytes(chunks) + stream)

codec("line", [0, 8, 1, 0, 0, 0], b"", [1, 3, 7, 2, 0, 40, 0], b"one\ntwo\r\nthree\r\n\nfour")
codec("line-keep-long", [0, 4, 0, 0, 0, 0], b"", [2, 9], b"ab\r\nabcd\rxyz\n")
codec("delim", [1, 6, 1, 1, 0, 0], b"\r\n", [2, 5, 1], b"a\r\nbb\r\r\n\r\nccccccc\r\n")
codec("delim-long", [1, 3, 3, 0, 0, 0], b"ENDX", [7, 1, 1], b"xENDXyyyENDXzzzzzEND")
codec("fixed", [2, 3, 0, 0, 0, 0], b"", [1, 2, 3, 4, 5, 8], b"abcdefghijklmno")
codec("lf-prefixed", [3, 0x80 | 8, 3, 0, 0, 4], b"", [4, 1, 6, 2, 8],
      struct.pack(">I", 3) + b"abc" + struct.pack(">I", 0) + struct.pack(">I", 9) + b"123456789" + struct.pack(">I", 200))
codec("lf-le16-offset", [3, 0x80 | 6, 0x81, 2, 0, 2], b"", [3, 3, 3], b"\x00\x00\x05\x00hello\xff\xff\x02\x00hi")
codec("lf-adjust", [3, 0x80 | 10, 0, 1, 0xfe, 0], b"", [2, 2, 2], b"\x07\x04abcdXY\x01\x00")
codec("lf-8byte", [3, 0x80 | 4, 4, 0, 0, 8], b"", [8, 1], b"\x00" * 7 + b"\x03abc" + b"\xff" * 8)
codec("lf-bad-config", [3, 2, 3, 7, 0, 0], b"", [], b"")

# fuzz_address: [mode][rest]; mode 0 split, 1 join (host NUL port), 2 resolve ([net][address]), 3 raw sockaddr
for i, s in enumerate([b"127.0.0.1:80", b"[::1]:443", b":http", b"host", b"a:b:c", b"[::1", b"[::1]x:80",
                       b"[[a]:80", b"a]:80", b"[fe80::1%eth0]:22", b"[]:0"]):
    put("address", "split-%02d" % i, b"\x00" + s)
for i, s in enumerate([b"::1\x0080", b"example.com\x00https", b"\x00", b"a[b\x001"]):
    put("address", "join-%02d" % i, b"\x01" + s)
for i, (net, s) in enumerate([(0, b"127.0.0.1:8080"), (0x80, b":0"), (1, b"10.1.2.3:65535"), (2, b"[::1]:1"),
                              (5, b"[::ffff:1.2.3.4]:53"), (3, b":65616"), (6, b"/tmp/gort.sock"), (6, b"@abstract"),
                              (7, b""), (8, b"1.2.3.4:1"), (0, b"[2001:db8::1]:00080")]):
    put("address", "resolve-%02d" % i, b"\x02" + bytes([net]) + s)
sin = struct.pack("<H", 2) + struct.pack(">H", 8080) + bytes([127, 0, 0, 1]) + b"\x00" * 8
sin6 = struct.pack("<H", 10) + struct.pack(">H", 443) + b"\x00" * 4 + b"\x00" * 10 + b"\xff\xff" + bytes([1, 2, 3, 4]) + b"\x00" * 4
sun = struct.pack("<H", 1) + b"/run/x.sock\x00"
put("address", "raw-in4", b"\x03\x03tcp" + sin)
put("address", "raw-in6", b"\x03\x04tcp6" + sin6)
put("address", "raw-unix", b"\x03\x04unix" + sun)
put("address", "raw-unix-abstract", b"\x03\x04unix" + struct.pack("<H", 1) + b"\x00name")
put("address", "raw-long-net", b"\x03\x0funixpacket-long" + sun)

# fuzz_url: [flags][text]; flags bit 0: plus_is_space
for i, s in enumerate([b"/search%20this/%2Fslash", b"%41%42%43", b"%zz", b"%4", b"100%", b"%e2%82%ac%E2%82%AC",
                       b"plain/path", b"%00%ff%7E", b"a+b%2Bc"]):
    put("url", "path-%02d" % i, b"\x00" + s)
for i, s in enumerate([b"q=go+lang&x=%26", b"a+b%2Bc", b"+++", b"%2"]):
    put("url", "query-%02d" % i, b"\x01" + s)

# fuzz_http_body: [mode][rbuf-1][limit/61][piece][len lo][len hi][wire]
def body(name, mode, rbuf, limit, piece, length, wire):
    put("http_body", name, bytes([mode, rbuf, limit, piece]) + struct.pack("<H", length) + wire)

body("chunked-basic", 1, 7, 0, 3, 0, b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 42\r\n\r\nNEXT")
body("chunked-limit", 1, 64, 1, 5, 0, b"40\r\n" + b"p" * 64 + b"\r\n40\r\n" + b"q" * 64 + b"\r\n0\r\n\r\n")
body("chunked-bare-lf", 1, 3, 0, 1, 0, b"5\nhello\r\n0\r\n\r\n")
body("chunked-long-ext", 1, 255, 0, 200, 0, b"5;" + b"a" * 4200 + b"\r\nhello\r\n0\r\n\r\n")
body("chunked-trailers", 1, 16, 0, 9, 0, b"0\r\nA: 1\r\nB:2\r\nC:  3 \r\n\r\n")
body("chunked-overhead", 1, 16, 0, 255, 0, b"".join(b"1;" + b"e" * 100 + b"\r\nx\r\n" for _ in range(40)) + b"0\r\n\r\n")
body("length", 0, 31, 0, 17, 100, b"d" * 100 + b"GET / HTTP/1.1\r\n")
body("length-short", 0, 31, 0, 17, 200, b"d" * 100)
body("length-limit", 0, 255, 1, 17, 100, b"d" * 100)
body("roundtrip", 2, 13, 0, 7, 0, bytes(range(256)))

# fuzz_http_server: [opts: bit 0 header limit 256, bit 1 body limit 1000][split/16][bytes]
def server(name, opts, split, data):
    put("http_server", name, bytes([opts, split]) + data)

H = b"Host: a\r\n"
server("get-keepalive", 0, 1, b"GET /x HTTP/1.1\r\n" + H + b"\r\nGET /y?q=1 HTTP/1.1\r\n" + H + b"\r\n")
server("echo-length", 0, 2, b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhelloGET /z HTTP/1.1\r\n" + H + b"\r\n")
server("echo-chunked", 2, 3, b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;e\r\nhello\r\n0\r\nX-T: t\r\n\r\n")
server("chunked-unread", 0, 0, b"POST /other HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n")
server("chunked-endless", 1, 4, b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;" + b"a" * 5000)
server("expect", 0, 4, b"POST /peek HTTP/1.1\r\n" + H + b"Content-Length: 10\r\nExpect: 100-continue\r\n\r\n0123456789")
server("expect-unread", 0, 4, b"POST /x HTTP/1.1\r\n" + H + b"Content-Length: 10\r\nExpect: 100-continue\r\n\r\n")
server("ctx", 0, 1, b"GET /ctx HTTP/1.1\r\n" + H + b"\r\n")
server("big", 0, 1, b"GET /big HTTP/1.1\r\n" + H + b"\r\nGET /big HTTP/1.0\r\n\r\n")
server("throw", 0, 1, b"GET /throw HTTP/1.1\r\n" + H + b"\r\n")
server("bad-cl-te", 0, 1, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
server("header-limit", 1, 1, b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * 400 + b"\r\n\r\n")
server("body-limit", 2, 1, b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5000\r\n\r\n")
server("http10", 0, 1, b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
server("absolute", 0, 1, b"GET http://h/p%20q?x=1 HTTP/1.1\r\nHost: h\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
