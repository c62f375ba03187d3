// Package metrics defines the Prometheus metrics of the wordgame server.
// A disabled Metrics (New with enabled=false) is a no-op recorder, so the
// cost of instrumentation can be measured with -metrics=false.
package metrics

import (
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Buckets for request latency: 50 µs .. 5 s.
var DurationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// Metrics records RED and game metrics. The nil pointer and a disabled
// Metrics are valid no-op recorders.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	started   prometheus.Counter
	finished  *prometheus.CounterVec
	guesses   *prometheus.CounterVec
	evicted   prometheus.Counter
	won, lost prometheus.Counter
	hit, miss prometheus.Counter
	rejected  prometheus.Counter
	capacity  prometheus.Counter // games rejected at -max-games
	draining  prometheus.Gauge
}

// Store feeds the game gauges.
type Store struct {
	Active     func() int           // wordgame_games_active
	OldestIdle func() time.Duration // wordgame_games_oldest_idle_seconds; nil: 0
	Max        int                  // wordgame_games_max (0: no limit)
	TTL        time.Duration        // wordgame_game_ttl_seconds
}

// Version is set at build time with -ldflags "-X perfkit.local/wordgame/internal/metrics.Version=...".
var Version = "dev"

// NewRegistry returns a registry holding the Go runtime and process
// collectors and wordgame_build_info; these are always present.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wordgame_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "goversion"})
	bi.WithLabelValues(Version, runtime.Version()).Set(1)
	reg.MustRegister(bi)
	return reg
}

// New registers the wordgame metrics on reg; st feeds the game gauges. With
// enabled=false nothing is registered and every method is a no-op; New
// returns nil in that case.
func New(reg prometheus.Registerer, enabled bool, st Store) *Metrics {
	if !enabled {
		return nil
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wordgame_http_requests_total",
			Help: "Public HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wordgame_http_request_duration_seconds",
			Help:    "Public HTTP request latency by route and method.",
			Buckets: DurationBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wordgame_http_requests_in_flight",
			Help: "Public HTTP requests being served.",
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wordgame_games_started_total",
			Help: "Games started.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wordgame_games_finished_total",
			Help: "Games finished, by result (won or lost).",
		}, []string{"result"}),
		guesses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wordgame_guesses_total",
			Help: "Guess requests by result: hit, miss, or rejected (4xx: bad body, bad letter, unknown game, too large).",
		}, []string{"result"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wordgame_games_evicted_total",
			Help: "Games removed after being idle for the TTL.",
		}),
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wordgame_games_active",
		Help: "Games in memory (started, not finished, not evicted).",
	}, func() float64 { return float64(st.Active()) })
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wordgame_games_oldest_idle_seconds",
		Help: "Idle time of the least recently used live game (0 when none); stays <= TTL + sweep interval while eviction works.",
	}, func() float64 {
		if st.OldestIdle == nil {
			return 0
		}
		return st.OldestIdle().Seconds()
	})
	maxG := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wordgame_games_max", Help: "Configured maximum of live games (-max-games; 0: no limit).",
	})
	maxG.Set(float64(st.Max))
	ttl := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wordgame_game_ttl_seconds", Help: "Configured idle TTL of a game (-game-ttl).",
	})
	ttl.Set(st.TTL.Seconds())
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wordgame_games_rejected_total",
		Help: "POST/GET /new refused, by reason (capacity: -max-games live games, answered 503).",
	}, []string{"reason"})
	m.capacity = rejected.WithLabelValues("capacity")
	m.draining = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wordgame_draining", Help: "1 from SIGTERM/SIGINT on (readiness fails, connections are being drained).",
	})
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.started, m.finished, m.guesses, m.evicted, active,
		oldest, maxG, ttl, rejected, m.draining)
	for _, rm := range [][2]string{{"/new", "GET"}, {"/new", "POST"}, {"/guess", "POST"}} {
		m.requests.WithLabelValues(rm[0], rm[1], "200")
		m.duration.WithLabelValues(rm[0], rm[1]) // the latency SLI is 0, not empty, before the first request
	}
	// Pre-create the label values so every series exists (as 0) from startup
	// and the hot path avoids the label lookup.
	m.won, m.lost = m.finished.WithLabelValues("won"), m.finished.WithLabelValues("lost")
	m.hit, m.miss, m.rejected = m.guesses.WithLabelValues("hit"), m.guesses.WithLabelValues("miss"), m.guesses.WithLabelValues("rejected")
	return m
}

// Enabled reports whether anything is recorded.
func (m *Metrics) Enabled() bool { return m != nil }

// RequestStarted increments the in-flight gauge.
func (m *Metrics) RequestStarted() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// RequestDone records one finished request; code is the status delivered,
// 0 when no response could be delivered (counted as code="none").
func (m *Metrics) RequestDone(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.inFlight.Dec()
	c := "none"
	if code != 0 {
		c = strconv.Itoa(code)
	}
	m.requests.WithLabelValues(route, method, c).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// GameStarted counts a new game.
func (m *Metrics) GameStarted() {
	if m != nil {
		m.started.Inc()
	}
}

// GameFinished counts a won or lost game.
func (m *Metrics) GameFinished(won bool) {
	if m == nil {
		return
	}
	if won {
		m.won.Inc()
	} else {
		m.lost.Inc()
	}
}

// Guess counts an applied guess.
func (m *Metrics) Guess(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.hit.Inc()
	} else {
		m.miss.Inc()
	}
}

// GuessRejected counts a /guess request that changed nothing (4xx).
func (m *Metrics) GuessRejected() {
	if m != nil {
		m.rejected.Inc()
	}
}

// Evicted counts evicted games.
func (m *Metrics) Evicted(n int) {
	if m != nil && n > 0 {
		m.evicted.Add(float64(n))
	}
}

// GameRejected counts a /new refused at capacity.
func (m *Metrics) GameRejected() {
	if m != nil {
		m.capacity.Inc()
	}
}

// SetDraining sets wordgame_draining to 1.
func (m *Metrics) SetDraining() {
	if m != nil {
		m.draining.Set(1)
	}
}
