// Command drainbench: keep-alive clients behind a load balancer's health
// check, while the server gets SIGTERM. bench/bench_drain.py builds it
// (standard library only) and runs it against the old and the new server.
//
// -clients goroutines each hold one keep-alive connection and POST /new in a
// loop; a poller GETs -admin/readyz every -poll and, once it answers anything
// but 200, tells the clients to stop sending (a balancer taking the server
// out of rotation). After -load it sends SIGTERM to -pid. It prints one JSON
// object: requests, client errors (by kind), non-200 answers, and when
// readiness failed after the signal.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	pub := flag.String("pub", "", "public base URL")
	adm := flag.String("admin", "", "admin base URL")
	pid := flag.Int("pid", 0, "server process to SIGTERM")
	clients := flag.Int("clients", 32, "keep-alive clients")
	poll := flag.Duration("poll", 100*time.Millisecond, "readiness poll interval")
	load := flag.Duration("load", time.Second, "load before the SIGTERM")
	flag.Parse()

	var stop atomic.Bool
	var requests, non200 atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			deadline := time.Now().Add(*load + 30*time.Second)
			for !stop.Load() && time.Now().Before(deadline) {
				requests.Add(1)
				resp, err := c.Post(*pub+"/new", "", nil)
				if err != nil {
					mu.Lock()
					errs[kind(err)]++
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					non200.Add(1)
				}
			}
		}()
	}
	time.Sleep(*load)
	term := time.Now()
	if err := syscall.Kill(*pid, syscall.SIGTERM); err != nil {
		panic(err)
	}
	unready := -1.0
	pc := &http.Client{Timeout: time.Second}
	for i := 0; i < 600 && !stop.Load(); i++ {
		resp, err := pc.Get(*adm + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != 200 {
			unready = time.Since(term).Seconds()
			stop.Store(true)
			break
		}
		time.Sleep(*poll)
	}
	stop.Store(true)
	wg.Wait()
	total := 0
	for _, n := range errs {
		total += n
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"requests": requests.Load(), "client_errors": total, "errors_by_kind": errs, "non200": non200.Load(),
		"unready_after_s": unready, "clients": *clients, "poll_ms": poll.Milliseconds(),
	})
}

func kind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.EOF), strings.Contains(err.Error(), "EOF"):
		return "eof"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}
