package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startWith(t *testing.T, e *env, to Timeouts) (pubAddr string) {
	t.Helper()
	pub, adm := listen(t), listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx, pub, adm, RunOptions{Timeouts: to, ShutdownTimeout: 2 * time.Second}) }()
	t.Cleanup(func() { cancel(); <-done })
	return pub.Addr().String()
}

// logRecord returns the "request" log line of route.
func logRecord(t *testing.T, e *env, route string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["route"] == route {
				return m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no request log line for %s: %s", route, e.logs.String())
	return nil
}

// A client that sends the headers and part of the body, then stalls: it gets
// a 408 with a JSON error after the read timeout, and the log and the metrics
// record the 408 that was delivered.
func TestStalledBodyGets408(t *testing.T) {
	e := newEnv(t, opts{metrics: true})
	addr := startWith(t, e, Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond,
		Write: 300 * time.Millisecond, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /guess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	var v map[string]string
	if resp.StatusCode != 408 || json.Unmarshal(b, &v) != nil || v["error"] == "" {
		t.Fatalf("stalled body: %d %q", resp.StatusCode, b)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("answered after %v, before the read timeout", took)
	}
	if m := logRecord(t, e, "/guess"); m["status"] != 408.0 || m["undelivered"] != nil {
		t.Fatalf("log line %v", m)
	}
	got := metricLines(t, e)
	if got[`wordgame_http_requests_total{code="408",method="POST",route="/guess"}`] != "1" {
		t.Fatalf("408 not counted: %v", got)
	}
}

// A response that cannot be written before the write deadline is counted as
// code="none", and its log line says why and what was attempted.
func TestUndeliveredResponseCountedAsNone(t *testing.T) {
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Test-Sleep") != "" {
				time.Sleep(500 * time.Millisecond) // past read + write timeout
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, opts{metrics: true, wrap: slow})
	addr := startWith(t, e, Timeouts{ReadHeader: time.Second, Read: 100 * time.Millisecond,
		Write: 100 * time.Millisecond, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /new HTTP/1.1\r\nHost: x\r\nX-Test-Sleep: 1\r\nContent-Length: 0\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
		t.Fatalf("a response arrived after the write deadline: %d", resp.StatusCode)
	}
	m := logRecord(t, e, "/new")
	if m["status"] != 0.0 || m["attempted_status"] != 200.0 || m["undelivered"] == nil {
		t.Fatalf("log line %v", m)
	}
	got := metricLines(t, e)
	if got[`wordgame_http_requests_total{code="none",method="POST",route="/new"}`] != "1" ||
		got[`wordgame_http_requests_total{code="200",method="POST",route="/new"}`] != "0" {
		t.Fatalf("undelivered response counted as delivered: %v", got)
	}
}
