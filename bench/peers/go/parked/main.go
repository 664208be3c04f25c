// Command parked is the Go peer of gort's bench/fibers/parked.cpp, the
// "1,000,000 parked fibers" benchmark (driver: bench/fibers_run): RSS per
// goroutine and the time to spawn N goroutines that park, then to wake them.
//
//	go build -o build/bin/go_parked ./parked && GOMAXPROCS=1 build/bin/go_parked -n 1000000 -mode chan
//
// Prints one JSON line on stdout. Definitions (identical in both programs):
//
//	spawn_s   From just before the spawn loop until all N goroutines are
//	          parked: each calls ready.Done() right before it parks; main
//	          waits for ready, then calls runtime.Gosched 10 times so the last
//	          ones finish parking. Includes creating the per-goroutine channels
//	          and filling the slice of their handles (chan mode).
//	rss_before_kib, rss_parked_kib
//	          VmRSS (/proc/self/status) just before the spawn loop and while
//	          all N are parked. kib_per_fiber = (parked - before) / N, so it
//	          counts the stack, the goroutine (g) and, in chan mode, the
//	          channel and its 8-byte handle in the slice. pte_parked_kib is
//	          VmPTE (page tables, not part of VmRSS) while parked.
//	vm_maps   lines of /proc/self/maps while parked.
//	wake_s    chan:  each goroutine blocks receiving on its own unbuffered
//	                 channel (make(chan int) / gort::chan<int>(0)); from the
//	                 moment main starts sending one value to each channel in
//	                 turn until the WaitGroup exited (done by each goroutine
//	                 after its receive) reaches zero.
//	          timer: every goroutine sleeps until one common deadline,
//	                 deadline = (start of the spawn loop) + margin, by sleeping
//	                 for (deadline - now) (time.Sleep / gort::sleep_for);
//	                 wake_s is from the deadline until exited reaches zero.
//	                 margin (-margin, default 1 s + 10 us * N) must exceed the
//	                 spawn phase plus the measurement; if the measurement ends
//	                 after the deadline the run fails (exit status 3): raise
//	                 -margin.
//	stack_size  Go's initial goroutine stack (2 KiB, grows by copying).
//
// The garbage collector runs as usual (GOGC default). GOMAXPROCS comes from
// the environment (bench/fibers_run pins and sets it). Standard library only.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// statusKiB returns a "Name:   123 kB" field of /proc/self/status in KiB (-1 if missing).
func statusKiB(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+":") {
			f := strings.Fields(line[len(name)+1:])
			if len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

func countMaps() int64 {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return int64(bytes.Count(b, []byte{'\n'}))
}

type result struct {
	System        string  `json:"system"`
	Mode          string  `json:"mode"`
	N             int     `json:"n"`
	Procs         int     `json:"procs"`
	SpawnS        float64 `json:"spawn_s"`
	WakeS         float64 `json:"wake_s"`
	RSSBefore     int64   `json:"rss_before_kib"`
	RSSParked     int64   `json:"rss_parked_kib"`
	KiBPerFiber   float64 `json:"kib_per_fiber"`
	PTEParked     int64   `json:"pte_parked_kib"`
	VMMaps        int64   `json:"vm_maps"`
	StackSize     int     `json:"stack_size"`
	StackSizeNote string  `json:"stack_size_note"`
	GoVersion     string  `json:"go_version"`
	MarginS       float64 `json:"margin_s,omitempty"`
}

func main() {
	n := flag.Int("n", 1000000, "number of goroutines")
	mode := flag.String("mode", "chan", "chan or timer")
	margin := flag.Float64("margin", -1, "timer mode: seconds from the start of the spawn loop to the deadline (default 1 s + 10 us * n)")
	flag.Parse()
	if *n <= 0 || *n > 100000000 {
		fmt.Fprintln(os.Stderr, "go_parked: -n: want a positive integer")
		os.Exit(2)
	}
	if *mode != "chan" && *mode != "timer" {
		fmt.Fprintln(os.Stderr, "go_parked: -mode: want chan or timer")
		os.Exit(2)
	}
	if *margin < 0 {
		*margin = 1.0 + 10e-6*float64(*n)
	}
	timer := *mode == "timer"

	var ready, exited sync.WaitGroup
	var chans []chan int
	if !timer {
		chans = make([]chan int, 0, *n) // untouched until filled: counted per goroutine
	}

	rssBefore := statusKiB("VmRSS")
	t0 := time.Now()
	deadline := t0.Add(time.Duration(*margin * float64(time.Second)))
	ready.Add(*n)
	exited.Add(*n)
	for i := 0; i < *n; i++ {
		if timer {
			go func() {
				ready.Done()
				time.Sleep(time.Until(deadline))
				exited.Done()
			}()
		} else {
			ch := make(chan int)
			chans = append(chans, ch)
			go func(ch chan int) {
				ready.Done()
				<-ch
				exited.Done()
			}(ch)
		}
	}
	ready.Wait()
	for i := 0; i < 10; i++ {
		runtime.Gosched() // let the last ones finish parking
	}
	t1 := time.Now()

	rssParked := statusKiB("VmRSS")
	pteParked := statusKiB("VmPTE")
	maps := countMaps()
	t2 := time.Now()
	if timer && !t2.Before(deadline) {
		fmt.Fprintf(os.Stderr, "go_parked: spawn phase and measurement took %.3f s, past the %.3f s margin; raise -margin\n",
			t2.Sub(t0).Seconds(), *margin)
		os.Exit(3)
	}
	if !timer {
		for _, ch := range chans {
			ch <- 1
		}
	}
	exited.Wait()
	t3 := time.Now()
	wake := t3.Sub(t2).Seconds()
	if timer {
		wake = t3.Sub(deadline).Seconds()
	}

	r := result{
		System: "go", Mode: *mode, N: *n, Procs: runtime.GOMAXPROCS(0),
		SpawnS: t1.Sub(t0).Seconds(), WakeS: wake,
		RSSBefore: rssBefore, RSSParked: rssParked,
		KiBPerFiber: float64(rssParked-rssBefore) / float64(*n),
		PTEParked:   pteParked, VMMaps: maps,
		StackSize: 2048, StackSizeNote: "Go's initial goroutine stack, grows by copying",
		GoVersion: runtime.Version(),
	}
	if timer {
		r.MarginS = *margin
	}
	out, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_parked:", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}
