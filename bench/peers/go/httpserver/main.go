// Command httpserver is the Go peer of gort's samples/http_server for the
// HTTP benchmark: the stdlib net/http server with the same two handlers.
//
//	go build -o build/bin/go_httpserver ./httpserver && GOMAXPROCS=1 build/bin/go_httpserver -addr 127.0.0.1:8081
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("Hello World!\n"))
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
