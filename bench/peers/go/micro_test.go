// Package micro is the Go peer of gort's micro benchmark suite.
//
// Every benchmark here has a C++ twin with the same name and the same
// definition of "one op"; the two outputs are compared line by line.
//
// Conventions:
//   - The benchmark goroutine only orchestrates: the measured work runs in
//     goroutines it spawns, and it parks in a WaitGroup until they finish.
//     This matters for BenchmarkGoschedPingPong (the parked benchmark
//     goroutine is not in the run queue, so exactly two goroutines take part
//     in the switching) and keeps the shape the same as on the C++ side,
//     where the driver is not itself a goroutine.
//   - No benchmark changes GOMAXPROCS; set it from the environment
//     (GOMAXPROCS=1 and GOMAXPROCS=2 are the configurations compared).
//   - Spawning the two to four worker goroutines is inside the timed region;
//     it is a constant cost that vanishes as b.N grows.
package micro

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// spawnBatch is the number of goroutines BenchmarkSpawnJoin starts per batch.
const spawnBatch = 1000

// wakeRound is the number of parked goroutines BenchmarkWake10k wakes per round.
const wakeRound = 10000

// chanCap is the buffer size used by the buffered channel benchmarks.
const chanCap = 128

// split returns how many of n ops worker i of k performs, so that the k
// shares add up to exactly n (the first n%k workers do one extra op).
func split(n, k, i int) int {
	s := n / k
	if i < n%k {
		s++
	}
	return s
}

// BenchmarkSpawnJoin: one op = spawn one goroutine that calls wg.Done, joined in batches of 1000.
func BenchmarkSpawnJoin(b *testing.B) {
	var wg sync.WaitGroup
	for left := b.N; left > 0; {
		n := spawnBatch
		if left < n {
			n = left // last batch may be partial
		}
		wg.Add(n)
		for i := 0; i < n; i++ {
			go wg.Done()
		}
		wg.Wait()
		left -= n
	}
}

// BenchmarkSpawnJoinSerial: one op = spawn one goroutine and wait until it has run.
func BenchmarkSpawnJoinSerial(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		go wg.Done()
		wg.Wait()
	}
}

// BenchmarkGoschedPingPong: one op = one runtime.Gosched call (one switch) by one of two goroutines.
//
// Intended to be run with GOMAXPROCS=1, where each Gosched hands the only P
// to the other goroutine, so every call is a real context switch. The
// benchmark deliberately does not set GOMAXPROCS itself; with GOMAXPROCS>1
// the two goroutines may run in parallel and the number measures the cost of
// a (mostly) no-op Gosched instead.
func BenchmarkGoschedPingPong(b *testing.B) {
	var wg sync.WaitGroup
	wg.Add(2)
	for g := 0; g < 2; g++ {
		n := split(b.N, 2, g)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
}

// BenchmarkTimerAfterFuncStop: one op = time.AfterFunc(time.Hour, f) followed by Stop.
func BenchmarkTimerAfterFuncStop(b *testing.B) {
	f := func() {}
	for i := 0; i < b.N; i++ {
		t := time.AfterFunc(time.Hour, f)
		if !t.Stop() {
			b.Fatal("timer fired or was already stopped")
		}
	}
}

// BenchmarkWake10k: one op = wake one of 10,000 goroutines parked on their own unbuffered channel and let it exit.
//
// Per round (untimed setup): start up to 10,000 goroutines, each of which
// signals `ready` and then blocks receiving on its own channel; wait for all
// signals and yield a few times so that the last ones get to park. Timed:
// send once on every channel, in order, then wait for all goroutines to exit.
// Rounds repeat until b.N wakes are done; the last round may be partial.
func BenchmarkWake10k(b *testing.B) {
	chans := make([]chan struct{}, wakeRound)
	var ready, exited sync.WaitGroup
	for left := b.N; left > 0; {
		n := wakeRound
		if left < n {
			n = left
		}

		b.StopTimer()
		ready.Add(n)
		exited.Add(n)
		for i := 0; i < n; i++ {
			ch := make(chan struct{})
			chans[i] = ch
			go func() {
				ready.Done()
				<-ch
				exited.Done()
			}()
		}
		ready.Wait()
		// A goroutine may have signalled ready but not yet reached its
		// receive (only possible with GOMAXPROCS>1); give it time to park.
		for i := 0; i < 10; i++ {
			runtime.Gosched()
		}
		b.StartTimer()

		for _, ch := range chans[:n] {
			ch <- struct{}{}
		}
		exited.Wait()
		left -= n
	}
}

// BenchmarkChanPingPong: one op = one round trip (send + reply) over two unbuffered channels between two goroutines.
func BenchmarkChanPingPong(b *testing.B) {
	ping := make(chan int)
	pong := make(chan int)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // pinger
		defer wg.Done()
		for i := 0; i < b.N; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	}()
	go func() { // ponger
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
	}()
	wg.Wait()
}

// BenchmarkChanBuffered128: one op = one item passed from a producer to a consumer through a channel of cap 128.
func BenchmarkChanBuffered128(b *testing.B) {
	ch := make(chan int, chanCap)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // producer
		defer wg.Done()
		for i := 0; i < b.N; i++ {
			ch <- i
		}
		close(ch)
	}()
	go func() { // consumer
		defer wg.Done()
		for range ch {
		}
	}()
	wg.Wait()
}

// benchSelect2 passes b.N items from a producer that alternates between two
// channels of capacity c to a consumer that selects over both.
func benchSelect2(b *testing.B, c int) {
	ch0 := make(chan int, c)
	ch1 := make(chan int, c)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // producer
		defer wg.Done()
		for i := 0; i < b.N; i++ {
			if i&1 == 0 {
				ch0 <- i
			} else {
				ch1 <- i
			}
		}
	}()
	go func() { // consumer
		defer wg.Done()
		for i := 0; i < b.N; i++ {
			select {
			case <-ch0:
			case <-ch1:
			}
		}
	}()
	wg.Wait()
}

// BenchmarkSelect2Buffered: one op = one item received by a 2-way select over two channels of cap 128.
func BenchmarkSelect2Buffered(b *testing.B) { benchSelect2(b, chanCap) }

// BenchmarkSelect2Unbuffered: one op = one item received by a 2-way select over two unbuffered channels.
func BenchmarkSelect2Unbuffered(b *testing.B) { benchSelect2(b, 0) }

// BenchmarkMutex4: one op = one Lock+counter increment+Unlock on a sync.Mutex shared by 4 goroutines.
func BenchmarkMutex4(b *testing.B) {
	const workers = 4
	var (
		mu      sync.Mutex
		counter int
		wg      sync.WaitGroup
	)
	wg.Add(workers)
	for g := 0; g < workers; g++ {
		n := split(b.N, workers, g)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counter != b.N {
		b.Fatalf("counter = %d, want %d", counter, b.N)
	}
}
