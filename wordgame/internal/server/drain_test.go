package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SIGTERM under keep-alive load, with clients that behave like a load
// balancer: a poller reads /readyz every R and they stop sending once it says
// 503. With a drain delay longer than R no client sees an error, and the
// responses during the drain carry Connection: close.
func TestDrainUnderKeepAliveLoad(t *testing.T) {
	const (
		clients    = 16
		pollEvery  = 20 * time.Millisecond
		drainDelay = 400 * time.Millisecond
	)
	e := newEnv(t, opts{metrics: true})
	pub, adm := listen(t), listen(t)
	pubURL, admURL := "http://"+pub.Addr().String(), "http://"+adm.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.srv.Run(ctx, pub, adm, RunOptions{Timeouts: DefaultTimeouts, ShutdownTimeout: 5 * time.Second,
			DrainDelay: drainDelay})
	}()

	var unready atomic.Bool
	pollDone := make(chan struct{})
	go func() { // the load balancer's health check
		defer close(pollDone)
		c := &http.Client{Timeout: time.Second}
		for i := 0; i < 1000; i++ {
			if resp, err := c.Get(admURL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 503 {
					unready.Store(true)
					return
				}
			}
			time.Sleep(pollEvery)
		}
	}()
	var errs, non200, ok, closes atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			deadline := time.Now().Add(10 * time.Second)
			for !unready.Load() && time.Now().Before(deadline) {
				resp, err := c.Post(pubURL+"/new", "", nil)
				if err != nil {
					errs.Add(1)
					t.Log(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					non200.Add(1)
				} else {
					ok.Add(1)
				}
				if resp.Close {
					closes.Add(1)
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	cancel() // what SIGTERM does in main
	<-pollDone
	// During the drain delay the public API still answers, with Connection: close.
	resp, err := http.Post(pubURL+"/new", "", nil)
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("request during the drain: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := metricLines(t, e)["wordgame_draining"]; got != "1" {
		t.Fatalf("wordgame_draining %q", got)
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if errs.Load() != 0 || non200.Load() != 0 || ok.Load() < clients {
		t.Fatalf("%d client errors, %d non-200, %d ok", errs.Load(), non200.Load(), ok.Load())
	}
	t.Logf("%d requests ok, %d with Connection: close", ok.Load(), closes.Load())
	// After the drain the public listener is closed.
	if c, err := net.DialTimeout("tcp", pub.Addr().String(), 200*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("public listener open after Run returned")
	}
}
