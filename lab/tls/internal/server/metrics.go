package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handshake error classes, the values of the error label.
var errorClasses = []string{"eof", "reset", "timeout", "other"}

// Metrics holds the lab's counters; all exist from start at 0.
type Metrics struct {
	Accepted, Open         atomic.Int64
	HandshakeFull, Resumed atomic.Int64
	Signatures             atomic.Int64    // signatures made with the certificate's key
	handshakeErrors        [4]atomic.Int64 // indexed like errorClasses
	mu                     sync.Mutex
	requests               map[[2]string]int64 // {route, code}
	key, tickets           string
}

func newMetrics(key string, tickets bool) *Metrics {
	m := &Metrics{requests: map[[2]string]int64{}, key: key, tickets: onOff(tickets)}
	for _, r := range routeNames() {
		for _, code := range []string{"200", "400", "405"} {
			m.requests[[2]string{r, code}] = 0
		}
	}
	m.requests[[2]string{routeOther, "404"}] = 0
	return m
}

// HandshakeErrors returns the count for one class: eof, reset, timeout or other.
func (m *Metrics) HandshakeErrors(class string) int64 {
	for i, c := range errorClasses {
		if c == class {
			return m.handshakeErrors[i].Load()
		}
	}
	return 0
}

// Requests returns the count for one route and status code.
func (m *Metrics) Requests(route string, code int) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[[2]string{route, fmt.Sprint(code)}]
}

func (m *Metrics) countRequest(route string, code int) {
	m.mu.Lock()
	m.requests[[2]string{route, fmt.Sprint(code)}]++
	m.mu.Unlock()
}

// classify maps the ERR part of a handshake error line to a class.
func classify(errText string) string {
	switch {
	case errText == "EOF" || strings.HasSuffix(errText, ": EOF"):
		return "eof"
	case strings.Contains(errText, "connection reset by peer"):
		return "reset"
	case strings.Contains(errText, "timeout"):
		return "timeout"
	}
	return "other"
}

func (m *Metrics) countHandshakeError(errText string) {
	c := classify(errText)
	for i, name := range errorClasses {
		if name == c {
			m.handshakeErrors[i].Add(1)
		}
	}
}

const handshakeErrorPrefix = "http: TLS handshake error from "

// errorLogWriter passes the server's error log through to out and counts
// handshake error lines by class. log.Logger writes one line per call.
type errorLogWriter struct {
	out io.Writer
	m   *Metrics
}

func (w errorLogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	if i := strings.Index(line, handshakeErrorPrefix); i >= 0 {
		rest := line[i+len(handshakeErrorPrefix):] // ADDR: ERR
		if j := strings.Index(rest, ": "); j >= 0 {
			w.m.countHandshakeError(rest[j+2:])
		}
	}
	return w.out.Write(p)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// WriteText writes the metrics in Prometheus text format 0.0.4.
func (m *Metrics) WriteText(w io.Writer) {
	var b bytes.Buffer
	head := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	head("tlslab_connections_accepted_total", "counter", "TCP connections accepted by the HTTPS listener.")
	fmt.Fprintf(&b, "tlslab_connections_accepted_total %d\n", m.Accepted.Load())
	head("tlslab_connections_open", "gauge", "HTTPS connections currently open.")
	fmt.Fprintf(&b, "tlslab_connections_open %d\n", m.Open.Load())
	head("tlslab_handshakes_total", "counter", "Server TLS handshakes done, by kind (full or resumed).")
	fmt.Fprintf(&b, "tlslab_handshakes_total{kind=\"full\"} %d\n", m.HandshakeFull.Load())
	fmt.Fprintf(&b, "tlslab_handshakes_total{kind=\"resumed\"} %d\n", m.Resumed.Load())
	head("tlslab_signatures_total", "counter", "Signatures made with the certificate's key (one per full handshake the server signed).")
	fmt.Fprintf(&b, "tlslab_signatures_total %d\n", m.Signatures.Load())
	head("tlslab_handshake_errors_total", "counter", "Lines 'http: TLS handshake error' in the server's error log, by error class.")
	for i, c := range errorClasses {
		fmt.Fprintf(&b, "tlslab_handshake_errors_total{error=%q} %d\n", c, m.handshakeErrors[i].Load())
	}
	head("tlslab_requests_total", "counter", "HTTP requests by route and status code.")
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "tlslab_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	m.mu.Unlock()
	head("process_cpu_seconds_total", "counter", "User and system CPU time of this process (getrusage).")
	fmt.Fprintf(&b, "process_cpu_seconds_total %g\n", cpuSeconds())
	head("go_goroutines", "gauge", "Goroutines that currently exist.")
	fmt.Fprintf(&b, "go_goroutines %d\n", runtime.NumGoroutine())
	head("tlslab_info", "gauge", "Server configuration.")
	fmt.Fprintf(&b, "tlslab_info{key=%q,tickets=%q} 1\n", m.key, m.tickets)
	w.Write(b.Bytes())
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Counters is one JSON line of the counters file: the counters and the
// process CPU at one instant, stamped with the wall clock when read.
type Counters struct {
	Unix          float64 `json:"t"`
	Connections   int64   `json:"connections"`
	HandshakeFull int64   `json:"handshakes_full"`
	Resumed       int64   `json:"handshakes_resumed"`
	Signatures    int64   `json:"signatures"`
	ErrorsEOF     int64   `json:"errors_eof"`
	ErrorsReset   int64   `json:"errors_reset"`
	ErrorsTimeout int64   `json:"errors_timeout"`
	ErrorsOther   int64   `json:"errors_other"`
	Requests      int64   `json:"requests"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	GCCycles      uint64  `json:"gc_cycles"` // completed GC cycles: the heap profile is published at these
}

// Counters reads every counter now.
func (m *Metrics) Counters(now time.Time) Counters {
	c := Counters{Unix: float64(now.UnixNano()) / 1e9, Connections: m.Accepted.Load(),
		HandshakeFull: m.HandshakeFull.Load(), Resumed: m.Resumed.Load(), Signatures: m.Signatures.Load(),
		ErrorsEOF: m.handshakeErrors[0].Load(), ErrorsReset: m.handshakeErrors[1].Load(),
		ErrorsTimeout: m.handshakeErrors[2].Load(), ErrorsOther: m.handshakeErrors[3].Load(),
		CPUSeconds: cpuSeconds(), GCCycles: gcCycles()}
	m.mu.Lock()
	for _, n := range m.requests {
		c.Requests += n
	}
	m.mu.Unlock()
	return c
}

// RecordCounters appends a Counters line to w every interval until ctx ends,
// and once more at the end. A saturated process records late, never wrong:
// each line carries the time it was read.
func (m *Metrics) RecordCounters(ctx context.Context, w io.Writer, every time.Duration) error {
	enc := json.NewEncoder(w)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := enc.Encode(m.Counters(time.Now())); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return enc.Encode(m.Counters(time.Now()))
		case <-t.C:
		}
	}
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
