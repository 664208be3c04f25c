// Command soakgen is the load generator of bench/soak: it keeps -conns TCP
// connections open against an HTTP/1.1 server (-mode http: keep-alive GETs
// of /healthz and /, every response checked byte for byte) or an echo server
// (-mode echo: random payloads, every echo checked byte for byte), and churns
// them: each connection lives for a random number of requests, then closes,
// or is aborted (closed mid-request: a partial request, or a whole one whose
// answer it does not wait for) or reset (SO_LINGER 0 close, mid-request or
// idle), and its slot dials again at once. Standard library only.
//
//	GOMAXPROCS=1 soakgen -addr 127.0.0.1:8080 -mode http -conns 10000 -duration 3m
//
// Every -stats it prints one JSON line of counters on stdout; at the end one
// line with "final": true. Unexpected errors (anything beyond the injected
// aborts and resets) are counted by kind:
//
//	dial_refused   connect() refused (the listen queue overflowed or the server is gone)
//	dial_timeout   connect() did not finish within -timeout
//	dial_other     any other connect() error
//	server_eof     the server closed a connection we had not aborted (EOF, also
//	               at the start of a keep-alive request, or "Connection: close")
//	server_reset   ECONNRESET/EPIPE on a connection we had not reset
//	timeout        no whole response/echo within -timeout
//	bad_response   a response that is not "HTTP/1.1 200" with the expected
//	               body, or an echo that differs from what was sent
//	other          any other read/write error
//
// Connections come from 127.0.0.2 .. 127.0.0.(1+-sources) with
// IP_BIND_ADDRESS_NO_PORT, so the client's ephemeral ports and TIME_WAITs
// are spread over many source addresses.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	addr     = flag.String("addr", "127.0.0.1:8080", "server address")
	mode     = flag.String("mode", "http", "http or echo")
	conns    = flag.Int("conns", 10000, "connections kept open")
	duration = flag.Duration("duration", 3*time.Minute, "how long to churn")
	ramp     = flag.Duration("ramp", 10*time.Second, "the first dials are spread over this long")
	think    = flag.Duration("think", time.Second, "mean pause between two requests on a connection (uniform 0..2x)")
	maxReqs  = flag.Int("reqs", 20, "a connection lives for 1..reqs requests (uniform)")
	pAbort   = flag.Float64("abort", 0.1, "probability that a connection ends in an abort (closed mid-request)")
	pReset   = flag.Float64("reset", 0.1, "probability that a connection ends in a reset (SO_LINGER 0)")
	maxSize  = flag.Int("size", 1024, "echo payload 1..size bytes")
	sources  = flag.Int("sources", 50, "source addresses 127.0.0.2 ..")
	timeout  = flag.Duration("timeout", 10*time.Second, "dial and per-response timeout")
	stats    = flag.Duration("stats", 5*time.Second, "interval of the JSON counter lines")
	seed     = flag.Int64("seed", 1, "random seed")
)

type counters struct {
	Dials, Open, Ok, Bytes, Aborts, Resets, Closes      int64
	DialRefused, DialTimeout, DialOther                 int64
	ServerEOF, ServerReset, Timeout, BadResponse, Other int64
	MinOpen                                             int64 // lowest Open seen by the sampler after the ramp
}

var c counters

// latency histogram: bucket i holds [1.05^i, 1.05^(i+1)) microseconds.
const nBuckets = 400

var hist [nBuckets]int64

func record(d time.Duration) {
	us := float64(d.Microseconds())
	i := 0
	if us >= 1 {
		i = int(math.Log(us) / math.Log(1.05))
	}
	if i >= nBuckets {
		i = nBuckets - 1
	}
	atomic.AddInt64(&hist[i], 1)
}

func quantile(q float64) float64 {
	var total int64
	var h [nBuckets]int64
	for i := range h {
		h[i] = atomic.LoadInt64(&hist[i])
		total += h[i]
	}
	if total == 0 {
		return math.NaN()
	}
	want := int64(math.Ceil(q * float64(total)))
	var acc int64
	for i, n := range h {
		acc += n
		if acc >= want {
			return math.Pow(1.05, float64(i+1)) / 1000 // upper edge, ms
		}
	}
	return math.NaN()
}

var (
	samplesMu sync.Mutex
	samples   []string
)

func sample(kind string, err error) {
	samplesMu.Lock()
	if len(samples) < 20 {
		samples = append(samples, fmt.Sprintf("%s: %v", kind, err))
	}
	samplesMu.Unlock()
}

// classify counts an error on a connection we had not aborted or reset.
func classify(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errServerClose):
		atomic.AddInt64(&c.ServerEOF, 1)
		sample("server_eof", err)
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		atomic.AddInt64(&c.ServerReset, 1)
		sample("server_reset", err)
	case errors.As(err, &ne) && ne.Timeout():
		atomic.AddInt64(&c.Timeout, 1)
		sample("timeout", err)
	case errors.Is(err, errBad):
		atomic.AddInt64(&c.BadResponse, 1)
		sample("bad_response", err)
	default:
		atomic.AddInt64(&c.Other, 1)
		sample("other", err)
	}
}

var (
	errBad         = errors.New("bad response")
	errServerClose = errors.New("server sent Connection: close")
)

func dial(rng *rand.Rand, slot int) (*net.TCPConn, error) {
	src := net.IPv4(127, 0, 0, byte(2+slot%*sources))
	d := net.Dialer{
		Timeout:   *timeout,
		LocalAddr: &net.TCPAddr{IP: src},
		Control: func(network, address string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, 24 /* IP_BIND_ADDRESS_NO_PORT */, 1)
			})
			return serr
		},
	}
	atomic.AddInt64(&c.Dials, 1)
	conn, err := d.Dial("tcp4", *addr)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			atomic.AddInt64(&c.DialRefused, 1)
			sample("dial_refused", err)
		case errors.As(err, &ne) && ne.Timeout():
			atomic.AddInt64(&c.DialTimeout, 1)
			sample("dial_timeout", err)
		default:
			atomic.AddInt64(&c.DialOther, 1)
			sample("dial_other", err)
		}
		return nil, err
	}
	return conn.(*net.TCPConn), nil
}

var httpReqs = []struct{ req, body string }{
	{"GET /healthz HTTP/1.1\r\nHost: soak\r\nUser-Agent: soakgen\r\n\r\n", "ok\n"},
	{"GET / HTTP/1.1\r\nHost: soak\r\nUser-Agent: soakgen\r\n\r\n", "Hello World!\n"},
}

// readHTTP reads one response and checks it against the expected body.
func readHTTP(r *bufio.Reader, body string) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		return fmt.Errorf("%w: status line %q", errBad, line)
	}
	length := -1
	closing := false
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if h == "\r\n" {
			break
		}
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("%w: header line %q", errBad, h)
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-length":
			length, err = strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%w: content-length %q", errBad, v)
			}
		case "connection":
			closing = strings.EqualFold(v, "close")
		}
	}
	if length != len(body) {
		return fmt.Errorf("%w: content-length %d, want %d", errBad, length, len(body))
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	if string(buf) != body {
		return fmt.Errorf("%w: body %q", errBad, buf)
	}
	if closing {
		return errServerClose
	}
	return nil
}

func abortClose(conn *net.TCPConn) {
	atomic.AddInt64(&c.Aborts, 1)
	conn.Close()
}

func resetClose(conn *net.TCPConn) {
	atomic.AddInt64(&c.Resets, 1)
	conn.SetLinger(0)
	conn.Close()
}

// session runs one connection's life; it returns when the connection is closed.
func session(rng *rand.Rand, slot int, deadline time.Time) {
	conn, err := dial(rng, slot)
	if err != nil {
		time.Sleep(100 * time.Millisecond)
		return
	}
	atomic.AddInt64(&c.Open, 1)
	defer atomic.AddInt64(&c.Open, -1)
	n := 1 + rng.Intn(*maxReqs)
	fate := rng.Float64() // < abort: abort; < abort+reset: reset; else a normal close
	r := bufio.NewReaderSize(conn, 4096)
	payload := make([]byte, *maxSize)
	echoed := make([]byte, *maxSize)
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(time.Duration(rng.Int63n(int64(2**think) + 1)))
		}
		if time.Now().After(deadline) {
			break
		}
		last := i == n-1
		var msg []byte
		var want string
		if *mode == "http" {
			q := httpReqs[rng.Intn(len(httpReqs))]
			msg, want = []byte(q.req), q.body
		} else {
			size := 1 + rng.Intn(*maxSize)
			rng.Read(payload[:size])
			msg = payload[:size]
		}
		if last && fate < *pAbort {
			// Abort: a partial HTTP request (or, one time in two, a whole
			// request or echo) and a normal close without waiting.
			if *mode == "http" && rng.Intn(2) == 0 {
				msg = msg[:1+rng.Intn(len(msg)-1)]
			}
			conn.SetDeadline(time.Now().Add(*timeout))
			conn.Write(msg)
			abortClose(conn)
			return
		}
		if last && fate < *pAbort+*pReset && rng.Intn(2) == 0 {
			// Reset mid-request: part of the request (HTTP) or the whole
			// payload (echo), then SO_LINGER 0.
			if *mode == "http" {
				msg = msg[:1+rng.Intn(len(msg)-1)]
			}
			conn.SetDeadline(time.Now().Add(*timeout))
			conn.Write(msg)
			resetClose(conn)
			return
		}
		start := time.Now()
		conn.SetDeadline(start.Add(*timeout))
		if _, err := conn.Write(msg); err != nil {
			classify(err)
			conn.Close()
			return
		}
		if *mode == "http" {
			err = readHTTP(r, want)
		} else {
			_, err = io.ReadFull(r, echoed[:len(msg)])
			if err == nil && !bytes.Equal(echoed[:len(msg)], msg) {
				err = fmt.Errorf("%w: echo of %d bytes differs", errBad, len(msg))
			}
		}
		if err != nil {
			classify(err)
			conn.Close()
			return
		}
		record(time.Since(start))
		atomic.AddInt64(&c.Ok, 1)
		atomic.AddInt64(&c.Bytes, int64(len(msg)))
	}
	if fate >= *pAbort && fate < *pAbort+*pReset && time.Now().Before(deadline) {
		resetClose(conn) // the idle reset: after the last answer
		return
	}
	atomic.AddInt64(&c.Closes, 1)
	conn.Close()
}

func snapshot(start time.Time, final bool) map[string]any {
	m := map[string]any{
		"t":            time.Since(start).Seconds(),
		"open":         atomic.LoadInt64(&c.Open),
		"min_open":     atomic.LoadInt64(&c.MinOpen),
		"dials":        atomic.LoadInt64(&c.Dials),
		"ok":           atomic.LoadInt64(&c.Ok),
		"bytes":        atomic.LoadInt64(&c.Bytes),
		"aborts":       atomic.LoadInt64(&c.Aborts),
		"resets":       atomic.LoadInt64(&c.Resets),
		"closes":       atomic.LoadInt64(&c.Closes),
		"dial_refused": atomic.LoadInt64(&c.DialRefused),
		"dial_timeout": atomic.LoadInt64(&c.DialTimeout),
		"dial_other":   atomic.LoadInt64(&c.DialOther),
		"server_eof":   atomic.LoadInt64(&c.ServerEOF),
		"server_reset": atomic.LoadInt64(&c.ServerReset),
		"timeout":      atomic.LoadInt64(&c.Timeout),
		"bad_response": atomic.LoadInt64(&c.BadResponse),
		"other":        atomic.LoadInt64(&c.Other),
		"p50_ms":       quantile(0.50),
		"p99_ms":       quantile(0.99),
		"max_ms":       quantile(1.0),
	}
	if final {
		m["final"] = true
		samplesMu.Lock()
		m["error_samples"] = append([]string{}, samples...)
		samplesMu.Unlock()
	}
	for k, v := range m { // JSON has no NaN
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			m[k] = nil
		}
	}
	return m
}

func main() {
	flag.Parse()
	if *mode != "http" && *mode != "echo" {
		fmt.Fprintln(os.Stderr, "soakgen: -mode http or echo")
		os.Exit(2)
	}
	start := time.Now()
	deadline := start.Add(*duration)
	atomic.StoreInt64(&c.MinOpen, -1)
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(*seed*1000003 + int64(slot)))
			time.Sleep(time.Duration(int64(*ramp) * int64(slot) / int64(*conns)))
			for time.Now().Before(deadline) {
				session(rng, slot, deadline)
			}
		}(i)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	enc := json.NewEncoder(os.Stdout)
	tick := time.NewTicker(*stats)
	fine := time.NewTicker(100 * time.Millisecond) // min_open sampling
	hard := time.After(*duration + *timeout + 5*time.Second)
loop:
	for {
		select {
		case <-done:
			break loop
		case <-hard:
			fmt.Fprintln(os.Stderr, "soakgen: connections still busy at the hard deadline")
			break loop
		case <-fine.C:
			now := time.Now()
			if now.Sub(start) > *ramp+2*time.Second && now.Before(deadline) {
				open := atomic.LoadInt64(&c.Open)
				if m := atomic.LoadInt64(&c.MinOpen); m < 0 || open < m {
					atomic.StoreInt64(&c.MinOpen, open)
				}
			}
		case <-tick.C:
			enc.Encode(snapshot(start, false))
		}
	}
	enc.Encode(snapshot(start, true))
}
