// Command echo is the Go peer of gort's samples/echo_server for the echo
// benchmark (bench/echo_run): the canonical stdlib echo server, a goroutine
// per connection with a 4 KiB buffer. GOMAXPROCS comes from the environment.
//
//	go build -o build/bin/go_echo ./echo && GOMAXPROCS=1 build/bin/go_echo -addr 127.0.0.1:7003
package main

import (
	"flag"
	"log"
	"net"
	"runtime"
)

func handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return // EOF, reset, ...: this connection only
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7003", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("go_echo: listening on %s (GOMAXPROCS=%d)", ln.Addr(), runtime.GOMAXPROCS(0))
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("go_echo: accept: %v", err)
			continue
		}
		go handle(c)
	}
}
