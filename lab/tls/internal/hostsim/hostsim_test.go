package hostsim

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"perfkit.local/tlslab/internal/server"
)

type lab struct {
	srv  *server.Server
	url  *url.URL
	pool *x509.CertPool
}

func startServer(t *testing.T, tickets bool) *lab {
	t.Helper()
	srv, err := server.New(server.Config{Key: "ecdsa-p256", SessionTickets: tickets, Work: 1, ReadHeaderTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := server.Listen("127.0.0.1:0")
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
	pool.AppendCertsFromPEM(srv.CertPEM)
	u, _ := url.Parse("https://" + pub.Addr().String())
	return &lab{srv: srv, url: u, pool: pool}
}

func (l *lab) config(mode string, hosts int) Config {
	return Config{URL: l.url, RootCAs: l.pool, Hosts: hosts, Interval: 250 * time.Millisecond, Jitter: 0.1,
		Mode: mode, RequestTimeout: 5 * time.Second, Retries: 3, Duration: 1200 * time.Millisecond,
		Curves: "x25519", Bucket: 100 * time.Millisecond, Seed: 7}
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.SummaryLine())
	return r
}

// A check-in every 250 ms for 1.2 s: 4 per host when unloaded; 3 leaves room
// for a busy machine.
func checkBasics(t *testing.T, r *Report, hosts int) {
	t.Helper()
	tot := r.Totals
	if tot.RequestsOK < int64(hosts)*2*3 || tot.RequestsFailed != 0 || tot.CheckinsFailed != 0 {
		t.Errorf("requests ok=%d failed=%d check-ins failed=%d, want >= %d ok and no failures",
			tot.RequestsOK, tot.RequestsFailed, tot.CheckinsFailed, hosts*6)
	}
	if tot.Requests != tot.RequestsOK+tot.RequestsFailed || tot.Checkins*2 > tot.Requests+int64(hosts) {
		t.Errorf("inconsistent totals %+v", tot)
	}
	if r.Latency.Count != tot.RequestsOK || r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Errorf("latency %+v for %d ok requests", r.Latency, tot.RequestsOK)
	}
}

func TestKeepAliveReusesOneConnectionPerHost(t *testing.T) {
	l := startServer(t, true)
	const hosts = 5
	r := run(t, l.config(KeepAlive, hosts))
	checkBasics(t, r, hosts)
	if r.Totals.Connections > hosts || r.Totals.HandshakesFull != r.Totals.Connections {
		t.Errorf("keepalive opened %d connections (%d full handshakes) for %d hosts", r.Totals.Connections,
			r.Totals.HandshakesFull, hosts)
	}
	if got := l.srv.Metrics.Accepted.Load(); got != r.Totals.Connections {
		t.Errorf("server accepted %d, simulator opened %d", got, r.Totals.Connections)
	}
}

func TestChurnOpensOneConnectionPerRequest(t *testing.T) {
	l := startServer(t, true)
	const hosts = 4
	r := run(t, l.config(Churn, hosts))
	checkBasics(t, r, hosts)
	tot := r.Totals
	// Requests cut by the run's end may have dialed without being counted.
	if tot.Connections < tot.Requests || tot.Connections > tot.Requests+hosts {
		t.Errorf("churn: %d connections for %d requests", tot.Connections, tot.Requests)
	}
	if tot.HandshakesResumed != 0 || tot.HandshakesFull < tot.Requests {
		t.Errorf("churn: %d full, %d resumed for %d requests", tot.HandshakesFull, tot.HandshakesResumed, tot.Requests)
	}
	// A TLS 1.3 client is done once it has sent its Finished; the server counts the handshake when it has
	// read it, a moment later: wait (bounded) for handshakes still in flight at the run's end.
	deadline := time.Now().Add(2 * time.Second)
	for l.srv.Metrics.HandshakeFull.Load() < tot.HandshakesFull && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := l.srv.Metrics.HandshakeFull.Load(); got < tot.HandshakesFull {
		t.Errorf("server counted %d full handshakes, simulator %d", got, tot.HandshakesFull)
	}
}

func TestResumeResumesAfterTheFirst(t *testing.T) {
	l := startServer(t, true)
	const hosts = 4
	r := run(t, l.config(Resume, hosts))
	checkBasics(t, r, hosts)
	tot := r.Totals
	if tot.HandshakesFull != hosts || tot.HandshakesResumed < tot.Requests-hosts {
		t.Errorf("resume: %d full, %d resumed for %d requests from %d hosts", tot.HandshakesFull,
			tot.HandshakesResumed, tot.Requests, hosts)
	}
	// The server may finish handshakes whose client the run's end cut.
	if got := l.srv.Metrics.Resumed.Load(); got < tot.HandshakesResumed || got > tot.HandshakesResumed+hosts {
		t.Errorf("server counted %d resumed, simulator %d", got, tot.HandshakesResumed)
	}
	// Without tickets the server cannot resume: all handshakes are full.
	l2 := startServer(t, false)
	r2 := run(t, l2.config(Resume, 2))
	if r2.Totals.HandshakesResumed != 0 || r2.Totals.HandshakesFull < r2.Totals.Requests {
		t.Errorf("tickets off: %+v", r2.Totals)
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	u, _ := url.Parse("https://" + ln.Addr().String())
	return u
}

func TestHandshakeTimeoutAbandons(t *testing.T) {
	u := silentServer(t)
	const hosts = 3
	// Phases in [0, 1s); a check-in's 3 attempts (150 ms each, backoffs
	// <= 150 + 300 ms) end by 1.9 s, inside the 2.5 s run.
	cfg := Config{URL: u, RootCAs: x509.NewCertPool(), Hosts: hosts, Interval: time.Second, Jitter: 0,
		Mode: Churn, HandshakeTimeout: 150 * time.Millisecond, RequestTimeout: 5 * time.Second, Retries: 2,
		Duration: 2500 * time.Millisecond, Curves: "x25519", Bucket: 100 * time.Millisecond, Seed: 1}
	r := run(t, cfg)
	tot := r.Totals
	if tot.Abandoned < hosts*3 || tot.Connections-tot.Abandoned > hosts || tot.HandshakesFailed != 0 {
		t.Errorf("abandoned=%d connections=%d failed=%d", tot.Abandoned, tot.Connections, tot.HandshakesFailed)
	}
	if tot.RequestsOK != 0 || tot.RequestsFailed != tot.Abandoned || tot.CheckinsFailed < hosts ||
		tot.Retries < 2*tot.CheckinsFailed {
		t.Errorf("totals %+v", tot)
	}
	// Without the handshake timeout the client waits: the request timeout
	// fails requests, but no handshake is abandoned or failed.
	cfg.HandshakeTimeout, cfg.RequestTimeout, cfg.Retries = 0, 100*time.Millisecond, 1
	cfg.Duration = 1300 * time.Millisecond
	r = run(t, cfg)
	if r.Totals.Abandoned != 0 || r.Totals.HandshakesFailed != 0 || r.Totals.RequestsFailed < hosts ||
		r.Totals.RequestsOK != 0 {
		t.Errorf("no handshake timeout: %+v", r.Totals)
	}
}

func TestRunEndsByItsDuration(t *testing.T) {
	l := startServer(t, true)
	cfg := l.config(Churn, 3)
	cfg.Interval, cfg.Duration = 30*time.Second, 400*time.Millisecond
	t0 := time.Now()
	r := run(t, cfg)
	if el := time.Since(t0); el < 400*time.Millisecond || el > 2*time.Second {
		t.Errorf("run took %v for a 400ms duration", el)
	}
	if r.DurationS < 0.4 || r.DurationS > 2 {
		t.Errorf("duration_s = %v", r.DurationS)
	}
	// A hung server: the in-flight handshake is cancelled at the end.
	cfg.URL, cfg.Interval, cfg.HandshakeTimeout = silentServer(t), 10*time.Millisecond, 0
	t0 = time.Now()
	r = run(t, cfg)
	if el := time.Since(t0); el > 2*time.Second || r.Totals.HandshakesFailed != 0 || r.Totals.Requests != 0 {
		t.Errorf("hung server: took %v, totals %+v", el, r.Totals)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestReportJSONKeys(t *testing.T) {
	l := startServer(t, true)
	cfg := l.config(Churn, 2)
	cfg.Duration = 450 * time.Millisecond
	cfg.Interval = 100 * time.Millisecond
	r := run(t, cfg)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"": {"checkin_latency_ms", "curves", "duration_s", "handshake_timeout_s", "hosts", "interval_s",
			"latency_ms", "mode", "ramp_s", "started_unix", "timeline", "totals"},
		"totals": {"checkins", "checkins_failed", "connections", "dial_errors", "handshakes_abandoned",
			"handshakes_failed", "handshakes_full", "handshakes_resumed", "requests", "requests_failed",
			"requests_ok", "retries"},
		"latency_ms":         {"count", "max", "p50", "p90", "p99"},
		"checkin_latency_ms": {"count", "max", "p50", "p90", "p99"},
		"timeline":           {"bucket_s", "columns", "rows", "start_unix"},
	}
	for part, ks := range want {
		obj := m
		if part != "" {
			obj = m[part].(map[string]any)
		}
		if got := keys(obj); len(got) != len(ks) || func() bool {
			for i := range ks {
				if got[i] != ks[i] {
					return true
				}
			}
			return false
		}() {
			t.Errorf("%q keys = %v, want %v", part, got, ks)
		}
	}
	if m["mode"] != "churn" || m["hosts"] != 2.0 || m["interval_s"] != 0.1 || m["curves"] != "x25519" {
		t.Errorf("header %v %v %v %v", m["mode"], m["hosts"], m["interval_s"], m["curves"])
	}
	tl := r.Timeline
	if len(tl.Rows) != 5 || tl.BucketS != 0.1 || len(tl.Columns) != 6 || tl.Columns[0] != "connections" {
		t.Fatalf("timeline %d rows, bucket %v, columns %v", len(tl.Rows), tl.BucketS, tl.Columns)
	}
	var sums [6]int64
	for _, row := range tl.Rows {
		for j, v := range row {
			sums[j] += v
		}
	}
	tot := r.Totals
	if sums != [6]int64{tot.Connections, tot.HandshakesFull, tot.HandshakesResumed, tot.Abandoned, tot.RequestsOK, tot.RequestsFailed} {
		t.Errorf("timeline sums %v vs totals %+v", sums, tot)
	}
}

func TestConfigChecked(t *testing.T) {
	u, _ := url.Parse("https://127.0.0.1:1")
	good := Config{URL: u, Hosts: 1, Interval: time.Second, Mode: Churn, Duration: time.Second, Curves: "x25519",
		Bucket: 100 * time.Millisecond}
	for name, mut := range map[string]func(*Config){
		"hosts 0": func(c *Config) { c.Hosts = 0 }, "hosts big": func(c *Config) { c.Hosts = MaxHosts + 1 },
		"mode": func(c *Config) { c.Mode = "h2" }, "duration": func(c *Config) { c.Duration = 11 * time.Minute },
		"curves": func(c *Config) { c.Curves = "p256" }, "jitter": func(c *Config) { c.Jitter = 1 },
		"bucket": func(c *Config) { c.Bucket = 0 }, "ramp": func(c *Config) { c.Ramp = -time.Second },
	} {
		c := good
		mut(&c)
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// With a ramp, the hosts' first check-ins spread over it instead of over one interval.
func TestRampSpreadsFirstCheckins(t *testing.T) {
	l := startServer(t, true)
	const hosts = 20
	cfg := l.config(KeepAlive, hosts)
	cfg.Ramp = time.Second
	r := run(t, cfg)
	checkBasics(t, r, hosts)
	early := int64(0) // connections in the first 200 ms: uniform over 1 s gives about 4 of 20
	for _, row := range r.Timeline.Rows[:2] {
		early += row[colConnections]
	}
	if early > hosts/2 || r.RampS != 1 {
		t.Errorf("%d of %d hosts connected in the first 200 ms of a 1 s ramp (ramp_s %v)", early, hosts, r.RampS)
	}
	if r.Totals.Connections < hosts*3/4 {
		t.Errorf("only %d of %d hosts connected within 1.2 s", r.Totals.Connections, hosts)
	}
}
