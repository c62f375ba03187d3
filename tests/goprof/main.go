// goprof writes CPU, heap and goroutine profiles from the running Go
// toolchain, so perfkit is checked against what current Go emits (start
// lines, inlined frames, labels), not only against the 2022 Fleet archives.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

var sink []byte

//go:noinline
func hashLoop(n int) [32]byte {
	var h [32]byte
	for i := 0; i < n; i++ {
		h = sha256.Sum256(h[:])
	}
	return h
}

func fib(n int) int { // recursion: cum must count once per sample
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func build(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,", i)
	}
	return b.String()
}

func work(ctx context.Context, until time.Time) {
	for time.Now().Before(until) {
		pprof.Do(ctx, pprof.Labels("phase", "hash"), func(context.Context) { hashLoop(20000) })
		pprof.Do(ctx, pprof.Labels("phase", "fib"), func(context.Context) { _ = fib(22) })
		s := strings.Split(build(2000), ",")
		sort.Strings(s)
		sink = make([]byte, 1<<16)
	}
}

func main() {
	out := flag.String("o", ".", "output directory")
	dur := flag.Duration("d", 1500*time.Millisecond, "CPU profile duration")
	flag.Parse()
	runtime.MemProfileRate = 4096
	write := func(name string, f func(*os.File) error) {
		fh, err := os.Create(filepath.Join(*out, name))
		if err != nil {
			panic(err)
		}
		defer fh.Close()
		if err := f(fh); err != nil {
			panic(err)
		}
	}
	cpu, err := os.Create(filepath.Join(*out, "profile"))
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	done := make(chan struct{})
	until := time.Now().Add(*dur)
	for i := 0; i < 2; i++ {
		go func() { work(context.Background(), until); done <- struct{}{} }()
	}
	<-done
	<-done
	pprof.StopCPUProfile()
	cpu.Close()
	write("heap", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	write("allocs", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	write("goroutine", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) })
}
