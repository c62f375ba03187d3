// Command gotrace writes a runtime/trace of a small, busy program: net/http
// loopback requests, channel ping-pong, sleeps, a contended mutex, user tasks,
// regions and logs. perfkit's trace tests parse its output with current Go.
//
//	go run . -o out.trace -d 1s -workers 8
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	out := flag.String("o", "gotrace.trace", "output file")
	dur := flag.Duration("d", time.Second, "how long to trace")
	workers := flag.Int("workers", 4, "concurrent HTTP clients / channel pairs")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	counter := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		counter++
		x := counter
		for i := 0; i < 2000; i++ {
			x = x*31 + i
		}
		mu.Unlock()
		fmt.Fprintf(w, "ok %d\n", x)
	})}
	go srv.Serve(ln)

	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	url := "http://" + ln.Addr().String() + "/"
	for w := 0; w < *workers; w++ {
		wg.Add(3)
		go func(w int) { // HTTP client, new connection every 10th request
			defer wg.Done()
			tr := &http.Transport{}
			c := &http.Client{Transport: tr}
			for i := 0; time.Now().Before(deadline); i++ {
				ctx, task := trace.NewTask(context.Background(), "request")
				trace.WithRegion(ctx, "get", func() {
					resp, err := c.Get(url)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				trace.Logf(ctx, "worker", "%d/%d", w, i)
				task.End()
				if i%10 == 9 {
					tr.CloseIdleConnections()
				}
			}
		}(w)
		ch := make(chan int)
		go func() { // channel ping-pong producer, with sleeps
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				ch <- i
				if i%100 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			close(ch)
		}()
		go func() { // consumer, selecting on a timer too
			defer wg.Done()
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case _, ok := <-ch:
					if !ok {
						return
					}
				case <-t.C:
					mu.Lock()
					counter++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		panic(err)
	}
	srv.Close()
}
