// Package hostsim simulates N osquery hosts checking in to an HTTPS server,
// and reports its own ground truth: connections, handshakes, requests.
package hostsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Modes of connection behaviour.
const (
	KeepAlive = "keepalive" // one reused connection per host
	Churn     = "churn"     // a new TLS connection per request, no session cache
	Resume    = "resume"    // a new connection per request, with a session cache
)

// Limits on a run.
const (
	MaxHosts    = 20000
	MaxDuration = 10 * time.Minute
	maxRows     = 100000
)

// Config is one run's settings; see the hostsim command for the flags.
type Config struct {
	URL              *url.URL
	RootCAs          *x509.CertPool
	Hosts            int
	Interval         time.Duration
	Jitter           float64
	Ramp             time.Duration // first check-ins spread over max(Interval, Ramp)
	Mode             string
	HandshakeTimeout time.Duration // 0 = none
	RequestTimeout   time.Duration // 0 = none
	Retries          int
	Duration         time.Duration
	Curves           string // "x25519" or "default"
	Bucket           time.Duration
	Seed             uint64
}

func (c *Config) check() error {
	switch {
	case c.URL == nil:
		return errors.New("no server URL")
	case c.Hosts < 1 || c.Hosts > MaxHosts:
		return fmt.Errorf("hosts %d out of range 1..%d", c.Hosts, MaxHosts)
	case c.Interval <= 0:
		return errors.New("interval must be > 0")
	case c.Jitter < 0 || c.Jitter >= 1:
		return errors.New("jitter must be in [0, 1)")
	case c.Ramp < 0:
		return errors.New("ramp must be >= 0")
	case c.Mode != KeepAlive && c.Mode != Churn && c.Mode != Resume:
		return fmt.Errorf("mode %q: want keepalive, churn or resume", c.Mode)
	case c.HandshakeTimeout < 0 || c.RequestTimeout < 0:
		return errors.New("timeouts must be >= 0")
	case c.Retries < 0 || c.Retries > 100:
		return errors.New("retries must be in 0..100")
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration must be in (0, %v]", MaxDuration)
	case c.Curves != "x25519" && c.Curves != "default":
		return fmt.Errorf("curves %q: want x25519 or default", c.Curves)
	case c.Bucket < time.Millisecond:
		return errors.New("bucket must be >= 1ms")
	case c.Duration/c.Bucket >= maxRows:
		return fmt.Errorf("duration/bucket gives more than %d timeline rows", maxRows)
	}
	return nil
}

// Totals are the run's ground-truth counts.
type Totals struct {
	Connections       int64 `json:"connections"`
	HandshakesFull    int64 `json:"handshakes_full"`
	HandshakesResumed int64 `json:"handshakes_resumed"`
	Abandoned         int64 `json:"handshakes_abandoned"`
	HandshakesFailed  int64 `json:"handshakes_failed"`
	DialErrors        int64 `json:"dial_errors"`
	Requests          int64 `json:"requests"`
	RequestsOK        int64 `json:"requests_ok"`
	RequestsFailed    int64 `json:"requests_failed"`
	Checkins          int64 `json:"checkins"`
	CheckinsFailed    int64 `json:"checkins_failed"`
	Retries           int64 `json:"retries"`
}

// Timeline holds per-bucket counts, one row per bucket from StartUnix.
type Timeline struct {
	BucketS   float64   `json:"bucket_s"`
	StartUnix float64   `json:"start_unix"`
	Columns   []string  `json:"columns"`
	Rows      [][]int64 `json:"rows"`
}

// Report is the JSON report of one run.
type Report struct {
	Mode              string   `json:"mode"`
	Hosts             int      `json:"hosts"`
	IntervalS         float64  `json:"interval_s"`
	RampS             float64  `json:"ramp_s"`
	HandshakeTimeoutS float64  `json:"handshake_timeout_s"`
	Curves            string   `json:"curves"`
	StartedUnix       float64  `json:"started_unix"`
	DurationS         float64  `json:"duration_s"`
	Totals            Totals   `json:"totals"`
	Latency           Summary  `json:"latency_ms"`
	CheckinLatency    Summary  `json:"checkin_latency_ms"`
	Timeline          Timeline `json:"timeline"`
}

// Timeline columns, in order.
const (
	colConnections = iota
	colFull
	colResumed
	colAbandoned
	colOK
	colFailed
	nCols
)

var columns = []string{"connections", "handshakes_full", "handshakes_resumed", "handshakes_abandoned",
	"requests_ok", "requests_failed"}

// Checkin is one osquery check-in: these two requests, in order.
var Checkin = []string{"/api/osquery/config", "/api/osquery/distributed/read"}

type counter struct {
	total atomic.Int64
	col   int // timeline column, or -1
}

type sim struct {
	cfg   Config
	start time.Time
	rows  [][nCols]atomic.Int64

	connections, full, resumed, abandoned, failedHS, dialErrors counter
	requests, ok, failed, checkins, checkinsFailed, retries     counter

	latency, checkinLatency hist
}

func (s *sim) inc(c *counter) {
	c.total.Add(1)
	if c.col < 0 {
		return
	}
	i := int(time.Since(s.start) / s.cfg.Bucket)
	s.rows[min(i, len(s.rows)-1)][c.col].Add(1) // the last row takes the run's final moments
}

// Run simulates the hosts until cfg.Duration has passed or ctx ends. Work in
// flight at the end is cancelled and not counted.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, start: time.Now()}
	s.rows = make([][nCols]atomic.Int64, int(math.Ceil(float64(cfg.Duration)/float64(cfg.Bucket))))
	for _, c := range []*counter{&s.dialErrors, &s.failedHS, &s.requests, &s.checkins, &s.checkinsFailed, &s.retries} {
		c.col = -1
	}
	s.connections.col, s.full.col, s.resumed.col, s.abandoned.col = colConnections, colFull, colResumed, colAbandoned
	s.ok.col, s.failed.col = colOK, colFailed

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	seeds := rand.New(rand.NewPCG(cfg.Seed, 0x7115))
	var wg sync.WaitGroup
	for i := 0; i < cfg.Hosts; i++ {
		h := &host{sim: s, id: i, rng: rand.New(rand.NewPCG(seeds.Uint64(), uint64(i)))}
		h.client = s.newClient(runCtx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.run(runCtx)
		}()
	}
	wg.Wait()
	elapsed := time.Since(s.start)
	return s.report(elapsed), nil
}

func (s *sim) newClient(runCtx context.Context) *http.Client {
	tcfg := &tls.Config{RootCAs: s.cfg.RootCAs, ServerName: s.cfg.URL.Hostname(), MinVersion: tls.VersionTLS12}
	if s.cfg.Curves == "x25519" {
		tcfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	if s.cfg.Mode == Resume {
		tcfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	tr := &http.Transport{
		DialTLSContext:      s.dialer(runCtx, tcfg),
		DisableKeepAlives:   s.cfg.Mode != KeepAlive,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     0, // never close an idle connection
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr}
}

// dialer dials TCP, runs the TLS handshake (bounded by the handshake
// timeout when set) and counts the outcome. As in net/http, a request's
// timeout does not cut a dial in progress; the end of the run does.
func (s *sim) dialer(runCtx context.Context, tcfg *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			if runCtx.Err() == nil {
				s.inc(&s.dialErrors)
			}
			return nil, err
		}
		s.inc(&s.connections)
		hctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(runCtx, cancel)
		defer stop()
		var timedOut atomic.Bool
		if s.cfg.HandshakeTimeout > 0 {
			t := time.AfterFunc(s.cfg.HandshakeTimeout, func() { timedOut.Store(true); cancel() })
			defer t.Stop()
		}
		conn := tls.Client(raw, tcfg)
		if err := conn.HandshakeContext(hctx); err != nil {
			raw.Close()
			switch {
			case timedOut.Load():
				s.inc(&s.abandoned)
			case runCtx.Err() != nil: // the run is over: not counted
			default:
				s.inc(&s.failedHS)
			}
			return nil, err
		}
		if conn.ConnectionState().DidResume {
			s.inc(&s.resumed)
		} else {
			s.inc(&s.full)
		}
		return conn, nil
	}
}

type host struct {
	sim    *sim
	id     int
	rng    *rand.Rand
	client *http.Client
}

func (h *host) run(ctx context.Context) {
	defer h.client.CloseIdleConnections()
	cfg := h.sim.cfg
	next := h.sim.start.Add(time.Duration(h.rng.Float64() * float64(max(cfg.Interval, cfg.Ramp))))
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		began := time.Now()
		h.checkin(ctx)
		f := 1 + cfg.Jitter*(2*h.rng.Float64()-1)
		next = began.Add(time.Duration(f * float64(cfg.Interval)))
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// checkin sends the check-in's requests in order; a failed request is
// retried up to cfg.Retries times after 100 ms × attempt (± 50 % jitter).
func (h *host) checkin(ctx context.Context) {
	s := h.sim
	began := time.Now()
	for _, path := range Checkin {
		ok := false
		for attempt := 0; attempt <= s.cfg.Retries; attempt++ {
			if attempt > 0 {
				back := time.Duration(float64(100*time.Millisecond) * float64(attempt) * (0.5 + h.rng.Float64()))
				if !sleepUntil(ctx, time.Now().Add(back)) {
					return
				}
				s.inc(&s.retries)
			}
			res := h.request(ctx, path)
			if res == cancelled {
				return
			}
			if res == succeeded {
				ok = true
				break
			}
		}
		if !ok {
			s.inc(&s.checkins)
			s.inc(&s.checkinsFailed)
			return
		}
	}
	s.inc(&s.checkins)
	s.checkinLatency.add(time.Since(began))
}

type outcome int

const (
	succeeded outcome = iota
	failed
	cancelled // the run ended: not counted
)

func (h *host) request(ctx context.Context, path string) outcome {
	s := h.sim
	rctx := ctx
	if s.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	u := *s.cfg.URL
	u.Path = strings.TrimRight(u.Path, "/") + path
	body := fmt.Sprintf(`{"node_key": "host-%05d"}`, h.id)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return failed
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := h.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return cancelled
	}
	s.inc(&s.requests)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.inc(&s.failed)
		return failed
	}
	s.inc(&s.ok)
	s.latency.add(time.Since(t0))
	return succeeded
}

func unix(t time.Time) float64 { return math.Round(float64(t.UnixMicro())/1e3) / 1e3 }

func (s *sim) report(elapsed time.Duration) *Report {
	rows := make([][]int64, len(s.rows))
	for i := range s.rows {
		rows[i] = make([]int64, nCols)
		for j := range rows[i] {
			rows[i][j] = s.rows[i][j].Load()
		}
	}
	return &Report{
		Mode: s.cfg.Mode, Hosts: s.cfg.Hosts, IntervalS: s.cfg.Interval.Seconds(),
		RampS:             max(s.cfg.Interval, s.cfg.Ramp).Seconds(),
		HandshakeTimeoutS: s.cfg.HandshakeTimeout.Seconds(), Curves: s.cfg.Curves,
		StartedUnix: unix(s.start), DurationS: math.Round(elapsed.Seconds()*1000) / 1000,
		Totals: Totals{
			Connections: s.connections.total.Load(), HandshakesFull: s.full.total.Load(),
			HandshakesResumed: s.resumed.total.Load(), Abandoned: s.abandoned.total.Load(),
			HandshakesFailed: s.failedHS.total.Load(), DialErrors: s.dialErrors.total.Load(),
			Requests: s.requests.total.Load(), RequestsOK: s.ok.total.Load(), RequestsFailed: s.failed.total.Load(),
			Checkins: s.checkins.total.Load(), CheckinsFailed: s.checkinsFailed.total.Load(),
			Retries: s.retries.total.Load(),
		},
		Latency: s.latency.summary(), CheckinLatency: s.checkinLatency.summary(),
		Timeline: Timeline{BucketS: s.cfg.Bucket.Seconds(), StartUnix: unix(s.start), Columns: columns, Rows: rows},
	}
}

// SummaryLine is the one-line stderr summary.
func (r *Report) SummaryLine() string {
	t := r.Totals
	return fmt.Sprintf("hostsim: mode %s hosts %d %.1fs: %d connections, %d full + %d resumed handshakes, "+
		"%d abandoned, %d failed; %d/%d requests ok, %d retries, %d/%d check-ins failed; p99 %.1f ms",
		r.Mode, r.Hosts, r.DurationS, t.Connections, t.HandshakesFull, t.HandshakesResumed, t.Abandoned,
		t.HandshakesFailed, t.RequestsOK, t.Requests, t.Retries, t.CheckinsFailed, t.Checkins, r.Latency.P99)
}
