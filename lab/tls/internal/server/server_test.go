package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects the error log safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	srv      *Server
	addr     string // public host:port
	adminURL string
	log      *syncBuffer
	rootCAs  *x509.CertPool
}

func start(t *testing.T, key string, tickets bool) *running {
	t.Helper()
	logBuf := &syncBuffer{}
	srv, err := New(Config{Key: key, SessionTickets: tickets, Work: 1, ReadHeaderTimeout: 5 * time.Second, ErrorLog: logBuf})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(pub, adm)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM) {
		t.Fatal("CertPEM holds no certificate")
	}
	return &running{srv: srv, addr: pub.Addr().String(), adminURL: "http://" + adm.Addr().String(), log: logBuf, rootCAs: pool}
}

func (r *running) client(cache tls.ClientSessionCache, keepAlive bool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: r.rootCAs, ClientSessionCache: cache},
		DisableKeepAlives: !keepAlive,
	}}
}

func post(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric reads one sample from /metrics by its full name with labels.
func (r *running) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get(r.adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("metric %s not found in:\n%s", sample, b)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoutesAndStatusCodes(t *testing.T) {
	r := start(t, "ecdsa-p256", true)
	c := r.client(nil, true)
	base := "https://" + r.addr
	for _, route := range routeNames() {
		code, body := post(t, c, base+route, `{"node_key": "h1"}`)
		if code != 200 || !strings.Contains(body, `"node_invalid":false`) {
			t.Errorf("POST %s = %d %s", route, code, body)
		}
		if code, _ := post(t, c, base+route, `{not json`); code != 400 {
			t.Errorf("bad JSON to %s = %d, want 400", route, code)
		}
		resp, err := c.Get(base + route)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET %s = %d (Allow %q), want 405 POST", route, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if code, _ := post(t, c, base+"/nope", `{"node_key": "h1"}`); code != 404 {
		t.Errorf("unknown route = %d, want 404", code)
	}
	if got := r.metric(t, `tlslab_requests_total{route="/api/osquery/config",code="200"}`); got != 1 {
		t.Errorf("config 200 count = %v, want 1", got)
	}
	if got := r.metric(t, `tlslab_requests_total{route="/api/osquery/log",code="405"}`); got != 1 {
		t.Errorf("log 405 count = %v, want 1", got)
	}
	if got := r.metric(t, `tlslab_requests_total{route="other",code="404"}`); got != 1 {
		t.Errorf("other 404 count = %v, want 1", got)
	}
	resp, err := http.Get(r.adminURL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=0.1"} {
		resp, err := http.Get(r.adminURL + p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n == 0 {
			t.Errorf("GET %s = %d with %d bytes", p, resp.StatusCode, n)
		}
	}
}

func TestMetricsStartAtZeroAndCount(t *testing.T) {
	r := start(t, "ecdsa-p256", false)
	zero := []string{
		"tlslab_connections_accepted_total", "tlslab_connections_open",
		`tlslab_handshakes_total{kind="full"}`, `tlslab_handshakes_total{kind="resumed"}`,
		`tlslab_handshake_errors_total{error="eof"}`, `tlslab_handshake_errors_total{error="reset"}`,
		`tlslab_handshake_errors_total{error="timeout"}`, `tlslab_handshake_errors_total{error="other"}`,
		`tlslab_requests_total{route="/api/osquery/distributed/read",code="200"}`,
		`tlslab_requests_total{route="other",code="404"}`,
	}
	for _, s := range zero {
		if v := r.metric(t, s); v != 0 {
			t.Errorf("%s = %v at start, want 0", s, v)
		}
	}
	if v := r.metric(t, `tlslab_info{key="ecdsa-p256",tickets="off"}`); v != 1 {
		t.Errorf("tlslab_info = %v", v)
	}
	if v := r.metric(t, "go_goroutines"); v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}
	r.metric(t, "process_cpu_seconds_total")

	c := r.client(nil, false) // a new connection per request
	for i := 0; i < 3; i++ {
		post(t, c, "https://"+r.addr+"/api/osquery/config", `{"node_key":"h"}`)
	}
	if v := r.metric(t, "tlslab_connections_accepted_total"); v != 3 {
		t.Errorf("accepted = %v, want 3", v)
	}
	if v := r.metric(t, `tlslab_handshakes_total{kind="full"}`); v != 3 {
		t.Errorf("full handshakes = %v, want 3", v)
	}
	// Closed connections leave the gauge (the close is seen asynchronously).
	deadline := time.Now().Add(2 * time.Second)
	for r.metric(t, "tlslab_connections_open") != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if v := r.metric(t, "tlslab_connections_open"); v != 0 {
		t.Errorf("open = %v after the clients closed, want 0", v)
	}
}

func TestResumedHandshakesCounted(t *testing.T) {
	for _, tc := range []struct {
		tickets            bool
		version            uint16
		wantFull, wantResu float64
	}{
		{true, tls.VersionTLS13, 1, 4},
		{true, tls.VersionTLS12, 1, 4},
		{false, tls.VersionTLS13, 5, 0},
	} {
		t.Run(fmt.Sprintf("tickets=%v/%x", tc.tickets, tc.version), func(t *testing.T) {
			r := start(t, "ecdsa-p256", tc.tickets)
			cache := tls.NewLRUClientSessionCache(4)
			resumed := 0
			for i := 0; i < 5; i++ {
				// A fresh TLS connection each time, sharing the session cache.
				conn, err := tls.Dial("tcp", r.addr, &tls.Config{RootCAs: r.rootCAs, ClientSessionCache: cache,
					MinVersion: tc.version, MaxVersion: tc.version})
				if err != nil {
					t.Fatal(err)
				}
				// TLS 1.3 tickets arrive after the handshake: a request/response reads them.
				fmt.Fprintf(conn, "POST /api/osquery/log HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"node_key\":\"h\"}")
				io.Copy(io.Discard, conn)
				if conn.ConnectionState().DidResume {
					resumed++
				}
				conn.Close()
			}
			full := r.metric(t, `tlslab_handshakes_total{kind="full"}`)
			res := r.metric(t, `tlslab_handshakes_total{kind="resumed"}`)
			if full != tc.wantFull || res != tc.wantResu || float64(resumed) != res {
				t.Errorf("full=%v resumed=%v (client saw %d resumed), want full=%v resumed=%v",
					full, res, resumed, tc.wantFull, tc.wantResu)
			}
			// one signature per full handshake, none for a resumed one
			if sig := r.metric(t, "tlslab_signatures_total"); sig != full {
				t.Errorf("signatures=%v for %v full handshakes", sig, full)
			}
		})
	}
}

// clientHello returns the bytes of one ClientHello as Go's client sends it.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	go tls.Client(a, &tls.Config{InsecureSkipVerify: true}).Handshake()
	buf := make([]byte, 64<<10)
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	return buf[:n]
}

// A client that sends its ClientHello and then closes its side (FIN) before
// answering the server's flight makes the server read EOF at the point it
// waits for the client's Finished: the line osquery's abandoned handshakes
// leave in Fleet's log. The client half-closes and drains, so the server's
// flight is read and no RST can turn the EOF into a reset.
func TestAbandonedHandshakeLogsEOF(t *testing.T) {
	r := start(t, "rsa2048", true)
	hello := clientHello(t)
	const n = 3
	for i := 0; i < n; i++ {
		conn, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(hello); err != nil {
			t.Fatal(err)
		}
		conn.(*net.TCPConn).CloseWrite()
		got, _ := io.Copy(io.Discard, conn) // until the server closes
		conn.Close()
		if got == 0 {
			t.Errorf("the server sent no handshake flight")
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for r.metric(t, `tlslab_handshake_errors_total{error="eof"}`) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if v := r.metric(t, `tlslab_handshake_errors_total{error="eof"}`); v != n {
		t.Errorf("eof errors = %v, want %d; log:\n%s", v, n, r.log)
	}
	line := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d http: TLS handshake error from 127\.0\.0\.1:\d+: EOF$`)
	if got := len(line.FindAllString(r.log.String(), -1)); got != n {
		t.Errorf("%d standard EOF lines in the log, want %d:\n%s", got, n, r.log)
	}
	// The server signed before it waited: these count as (full) handshakes and signatures.
	if v := r.metric(t, `tlslab_handshakes_total{kind="full"}`); v != n {
		t.Errorf("full handshakes = %v, want %d", v, n)
	}
	if v := r.metric(t, "tlslab_signatures_total"); v != n {
		t.Errorf("signatures = %v, want %d", v, n)
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]string{
		"EOF": "eof",
		"read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer": "reset",
		"read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout":                    "timeout",
		"tls: client offered only unsupported versions: []":                 "other",
		"remote error: tls: bad certificate":                                "other",
	} {
		if got := classify(in); got != want {
			t.Errorf("classify(%q) = %q, want %q", in, got, want)
		}
	}
	m := newMetrics("rsa2048", true)
	var out bytes.Buffer
	w := errorLogWriter{out: &out, m: m}
	w.Write([]byte("2026/01/02 03:04:05 http: TLS handshake error from [::1]:5555: EOF\n"))
	w.Write([]byte("2026/01/02 03:04:05 http: superfluous response.WriteHeader call\n"))
	if m.HandshakeErrors("eof") != 1 || m.HandshakeErrors("other") != 0 || !strings.Contains(out.String(), "superfluous") {
		t.Errorf("eof=%d other=%d out=%q", m.HandshakeErrors("eof"), m.HandshakeErrors("other"), out.String())
	}
}

func TestEveryKeyTypeVerifies(t *testing.T) {
	for _, key := range KeyTypes {
		t.Run(key, func(t *testing.T) {
			r := start(t, key, true)
			for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
				if err := r.srv.TLS.Certificates[0].Leaf.VerifyHostname(name); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			conn, err := tls.Dial("tcp", r.addr, &tls.Config{RootCAs: r.rootCAs})
			if err != nil {
				t.Fatalf("verified dial: %v", err)
			}
			conn.Close()
			if _, err := tls.Dial("tcp", r.addr, &tls.Config{}); err == nil {
				t.Error("a client without the lab's root accepted the certificate")
			}
		})
	}
	if _, err := New(Config{Key: "dsa"}); err == nil {
		t.Error("unknown key type accepted")
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		}
	}
}

func TestCountersFileLinesAgreeWithMetrics(t *testing.T) {
	r := start(t, "ecdsa-p256", false)
	var buf syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Metrics.RecordCounters(ctx, &buf, 5*time.Millisecond) }()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(buf.String(), "\n"); {
		if time.Now().After(deadline) {
			t.Fatal("no counters line within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	c := r.client(nil, false)
	for i := 0; i < 4; i++ {
		post(t, c, "https://"+r.addr+"/api/osquery/config", `{"node_key":"h"}`)
	}
	runtime.GC()
	time.Sleep(30 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var lines []Counters
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var c Counters
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		lines = append(lines, c)
	}
	if len(lines) < 3 {
		t.Fatalf("%d lines, want several", len(lines))
	}
	first, last := lines[0], lines[len(lines)-1]
	if first.Requests != 0 || first.Connections != 0 {
		t.Errorf("first line %+v, want zero counts", first)
	}
	if last.Requests != 4 || last.Connections != 4 || last.HandshakeFull != 4 {
		t.Errorf("last line %+v, want 4 requests, connections and full handshakes", last)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i].Unix < lines[i-1].Unix || lines[i].CPUSeconds < lines[i-1].CPUSeconds || lines[i].GCCycles < lines[i-1].GCCycles {
			t.Fatalf("line %d goes back in time or CPU: %+v after %+v", i, lines[i], lines[i-1])
		}
	}
	if last.GCCycles <= first.GCCycles {
		t.Errorf("gc_cycles %d → %d across a runtime.GC()", first.GCCycles, last.GCCycles)
	}
	if want := r.metric(t, "tlslab_connections_accepted_total"); float64(last.Connections) != want {
		t.Errorf("file says %d connections, /metrics %v", last.Connections, want)
	}
}
