// Package server implements the wordgame HTTP API (public listener) and the
// admin endpoints (metrics, pprof, health), plus graceful shutdown.
package server

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"perfkit.local/wordgame/internal/metrics"
	"perfkit.local/wordgame/internal/store"
)

// DefaultMaxBodyBytes is the default request body limit.
const DefaultMaxBodyBytes = 4 << 10

// Config of a Server. Store and Words are required.
type Config struct {
	Store        *store.Store
	Words        []string              // normalised dictionary (game.LoadDictionary)
	Metrics      *metrics.Metrics      // nil: no game/request metrics
	Gatherer     prometheus.Gatherer   // served on the admin /metrics; nil: 404
	Logger       *slog.Logger          // nil: discard
	MaxBodyBytes int64                 // <= 0: DefaultMaxBodyBytes
	PickWord     func([]string) string // nil: uniform random
	// Wrap, if set, wraps the public router inside the request-id, logging,
	// metrics and recovery middleware. Tests use it to inject slow handlers.
	Wrap func(http.Handler) http.Handler
}

// Server is the wordgame application. Create it with New.
type Server struct {
	cfg          Config
	log          *slog.Logger
	m            *metrics.Metrics
	shuttingDown atomic.Bool
	public       http.Handler
	admin        http.Handler
}

// New builds the server and its handlers.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.PickWord == nil {
		cfg.PickWord = func(w []string) string { return w[rand.IntN(len(w))] }
	}
	s := &Server{cfg: cfg, log: cfg.Logger, m: cfg.Metrics}
	var h http.Handler = http.HandlerFunc(s.route)
	if cfg.Wrap != nil {
		h = cfg.Wrap(h)
	}
	s.public = s.observe(s.recoverer(h))
	s.admin = s.adminMux()
	return s
}

// Handler is the public API handler.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler serves /metrics, /debug/pprof/, /healthz and /readyz.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Ready reports whether the dictionary is loaded and shutdown has not begun.
func (s *Server) Ready() bool { return len(s.cfg.Words) > 0 && !s.shuttingDown.Load() }

// BeginShutdown makes /readyz fail, sets wordgame_draining, and from then on
// every public response carries Connection: close. Run calls it when its
// context ends.
func (s *Server) BeginShutdown() {
	if !s.shuttingDown.Swap(true) {
		s.m.SetDraining()
	}
}

// Draining reports whether BeginShutdown was called.
func (s *Server) Draining() bool { return s.shuttingDown.Load() }

func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case len(s.cfg.Words) == 0:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "dictionary not loaded"})
		case s.shuttingDown.Load():
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		default:
			writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "words": itoa(len(s.cfg.Words))})
		}
	})
	return mux
}

// Timeouts of the HTTP servers. Zero means none (not recommended).
// The public listener's write deadline is Read + Write after the request
// headers: a body that stalls until Read still leaves Write to send the 408.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
	AdminWrite                    time.Duration // admin write timeout (pprof profiles take seconds)
}

// DefaultTimeouts are the defaults of the command-line flags.
var DefaultTimeouts = Timeouts{
	ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second,
	Idle: 60 * time.Second, AdminWrite: 2 * time.Minute,
}

// RunOptions configure Run.
type RunOptions struct {
	Timeouts        Timeouts
	ShutdownTimeout time.Duration // deadline for in-flight requests; default 10s
	DrainDelay      time.Duration // after readiness fails, keep serving (with Connection: close) this long
	EvictInterval   time.Duration // <= 0: store.SweepInterval(TTL)
}

// ErrShutdownTimeout: in-flight requests did not finish within the deadline
// and their connections were closed.
var ErrShutdownTimeout = errors.New("shutdown deadline exceeded; remaining connections closed")

// Run serves the public API on pub and the admin endpoints on adm, and runs
// the evictor, until ctx ends. Then it drains: readiness fails at once
// (/readyz 503, wordgame_draining 1); for DrainDelay the public API keeps
// serving but every response carries Connection: close, so load balancers
// see the 503 before any connection goes away; then keep-alives are disabled,
// the public listener closes, in-flight requests get up to ShutdownTimeout,
// and the admin listener closes last. It returns nil (or ErrShutdownTimeout,
// or a serve error).
func (s *Server) Run(ctx context.Context, pub, adm net.Listener, o RunOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	mk := func(h http.Handler, write time.Duration) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: o.Timeouts.ReadHeader,
			ReadTimeout:       o.Timeouts.Read,
			WriteTimeout:      write,
			IdleTimeout:       o.Timeouts.Idle,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          errLog,
		}
	}
	pubWrite := o.Timeouts.Write
	if pubWrite > 0 && o.Timeouts.Read > 0 {
		pubWrite += o.Timeouts.Read // counted from the headers: room for the 408 of a stalled body
	}
	pubSrv := mk(s.public, pubWrite)
	admSrv := mk(s.admin, o.Timeouts.AdminWrite)

	evCtx, stopEvictor := context.WithCancel(context.Background())
	defer stopEvictor()
	go s.cfg.Store.RunEvictor(evCtx, o.EvictInterval)

	serveErr := make(chan error, 2)
	go func() { serveErr <- pubSrv.Serve(pub) }()
	go func() { serveErr <- admSrv.Serve(adm) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr: // a listener failed: shut the other one down too
		runErr = err
		s.log.Error("serve failed", "err", err)
	}
	s.BeginShutdown()
	s.log.Info("shutting down", "drain_delay", o.DrainDelay.String(), "deadline", o.ShutdownTimeout.String())
	if runErr == nil && o.DrainDelay > 0 {
		t := time.NewTimer(o.DrainDelay)
		select {
		case <-t.C:
		case err := <-serveErr:
			t.Stop()
			runErr = err
			s.log.Error("serve failed", "err", err)
		}
	}
	pubSrv.SetKeepAlivesEnabled(false)
	shCtx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	// Public first (stop accepting, drain in-flight), admin last so that
	// /readyz answers 503 while the public listener drains.
	err := pubSrv.Shutdown(shCtx)
	if err2 := admSrv.Shutdown(shCtx); err == nil {
		err = err2
	}
	if err != nil {
		pubSrv.Close()
		admSrv.Close()
		if runErr == nil {
			runErr = ErrShutdownTimeout
		}
	}
	return runErr
}
