package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// blocker makes requests carrying X-Test-Block wait in the handler until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocker) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Block") != "" {
			b.entered <- struct{}{}
			<-b.release
		}
		next.ServeHTTP(w, r)
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startRun(t *testing.T, e *env, shutdownTimeout time.Duration) (pubURL, admURL string, cancel func(), done <-chan error) {
	t.Helper()
	pub, adm := listen(t), listen(t)
	ctx, cancelFn := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() {
		ch <- e.srv.Run(ctx, pub, adm, RunOptions{Timeouts: DefaultTimeouts, ShutdownTimeout: shutdownTimeout})
	}()
	return "http://" + pub.Addr().String(), "http://" + adm.Addr().String(), cancelFn, ch
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	b := &blocker{entered: make(chan struct{}, 1), release: make(chan struct{})}
	e := newEnv(t, opts{wrap: b.wrap})
	pubURL, admURL, cancel, done := startRun(t, e, 10*time.Second)

	type result struct {
		code int
		body []byte
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", pubURL+"/new", nil)
		req.Header.Set("X-Test-Block", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- result{code: resp.StatusCode, body: body}
	}()
	<-b.entered
	cancel() // what SIGTERM does in main

	// The public listener stops accepting while the request is in flight...
	pubAddr := pubURL[len("http://"):]
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", pubAddr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("public listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...and /readyz says 503 while draining.
	resp, err := http.Get(admURL + "/readyz")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("readyz during drain: %v %v", resp, err)
	}
	resp.Body.Close()
	select {
	case err := <-done:
		t.Fatalf("Run returned before the in-flight request finished: %v", err)
	default:
	}
	close(b.release)
	r := <-inflight
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request: %d %v %s", r.code, r.err, r.body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	b := &blocker{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(b.release)
	e := newEnv(t, opts{wrap: b.wrap})
	pubURL, _, cancel, done := startRun(t, e, 200*time.Millisecond)
	go func() {
		req, _ := http.NewRequest("GET", pubURL+"/new", nil)
		req.Header.Set("X-Test-Block", "1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.entered
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrShutdownTimeout) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown deadline not enforced")
	}
}
