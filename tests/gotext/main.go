// gotext writes the text profiles a Go server hands out at /debug/pprof/NAME?debug=1
// (heap, allocs, block, mutex, goroutine, threadcreate) after real allocation,
// blocking, mutex contention and parked goroutines, so perfkit's text parsers are
// checked against what the running Go toolchain emits. It also writes a
// goroutine?debug=2 dump, which is not a profile.
package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var sink [][]byte

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 64+i%512))
	}
}

//go:noinline
func allocLarge(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 1<<16))
	}
}

//go:noinline
func contend(mu *sync.Mutex, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < n; i++ {
		mu.Lock()
		time.Sleep(50 * time.Microsecond)
		mu.Unlock()
	}
}

//go:noinline
func waitChan(c chan int, wg *sync.WaitGroup) {
	defer wg.Done()
	<-c
}

//go:noinline
func parked(c chan struct{}) { <-c }

func main() {
	out := flag.String("o", ".", "output directory")
	flag.Parse()
	runtime.MemProfileRate = 512
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)

	allocSmall(3000)
	allocLarge(40)
	sink = sink[:len(sink)/2] // some of it becomes garbage: inuse differs from alloc
	runtime.GC()

	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go contend(&mu, 30, &wg)
	}
	c := make(chan int)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go waitChan(c, &wg)
	}
	time.Sleep(20 * time.Millisecond)
	for i := 0; i < 3; i++ {
		c <- i
	}
	wg.Wait()

	stop := make(chan struct{})
	for i := 0; i < 5; i++ {
		go parked(stop)
	}
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	for _, name := range []string{"heap", "allocs", "block", "mutex", "goroutine", "threadcreate"} {
		write(filepath.Join(*out, name), name, 1)
	}
	write(filepath.Join(*out, "goroutine-debug2"), "goroutine", 2)
	close(stop)
}

func write(path, name string, debug int) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		panic(err)
	}
}
