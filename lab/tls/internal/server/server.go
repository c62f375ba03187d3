// Package server is an HTTPS server shaped like Fleet's osquery endpoints,
// with its own handshake and request counters and pprof on an admin listener.
package server

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"perfkit.local/tlslab/internal/loopback"
)

// DefaultWork is the default sha256 rounds over 1 KiB per request
// (about 50 µs of CPU on the lab machine: ~0.6 µs a round, see README).
const DefaultWork = 80

const routeOther = "other"

// routes is the one place the public routes are listed.
func routes(work int) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/api/osquery/config": osqueryHandler(work, func(digest string) any {
			return map[string]any{"schedule": map[string]any{}, "options": map[string]any{}, "node_invalid": false, "digest": digest}
		}),
		"/api/osquery/distributed/read": osqueryHandler(work, func(digest string) any {
			return map[string]any{"queries": map[string]string{}, "node_invalid": false, "digest": digest}
		}),
		"/api/osquery/log": osqueryHandler(work, func(digest string) any {
			return map[string]any{"node_invalid": false, "digest": digest}
		}),
	}
}

func routeNames() []string {
	return []string{"/api/osquery/config", "/api/osquery/distributed/read", "/api/osquery/log"}
}

// Work does n rounds of sha256 over a 1 KiB buffer and returns the digest.
func Work(n int) [32]byte {
	var buf [1024]byte
	sum := sha256.Sum256(buf[:])
	for i := 0; i < n; i++ {
		copy(buf[:32], sum[:])
		sum = sha256.Sum256(buf[:])
	}
	return sum
}

func osqueryHandler(work int, body func(digest string) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		var req struct {
			NodeKey string `json:"node_key"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		if err := dec.Decode(&req); err != nil || req.NodeKey == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {\"node_key\": \"...\"}"})
			return
		}
		sum := Work(work)
		writeJSON(w, http.StatusOK, body(hex.EncodeToString(sum[:8])))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// statusWriter records the status code for the request counter.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Config configures a Server.
type Config struct {
	Key               string // one of KeyTypes
	SessionTickets    bool
	Work              int
	ReadHeaderTimeout time.Duration
	ErrorLog          io.Writer // the error log's destination (stderr in the command)
}

// Server is the lab server: public HTTPS routes and an admin listener.
type Server struct {
	Metrics *Metrics
	CertPEM []byte // the self-signed certificate, PEM (public part only)
	TLS     *tls.Config
	public  *http.Server
	admin   *http.Server
}

// countingSigner counts the signatures a handshake asks of the key: a handshake
// abandoned after the server signed still counts here, though never in
// VerifyConnection.
type countingSigner struct {
	crypto.Signer
	n *atomic.Int64
}

func (c countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, digest, opts)
}

// New generates the key and certificate and builds both HTTP servers.
func New(cfg Config) (*Server, error) {
	cert, certPEM, err := selfSigned(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Work < 0 {
		return nil, errors.New("work must be >= 0")
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = io.Discard
	}
	m := newMetrics(cfg.Key, cfg.SessionTickets)
	cert.PrivateKey = countingSigner{cert.PrivateKey.(crypto.Signer), &m.Signatures}
	s := &Server{Metrics: m, CertPEM: certPEM}
	s.TLS = &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             tls.VersionTLS12,
		SessionTicketsDisabled: !cfg.SessionTickets,
		NextProtos:             []string{"http/1.1"},
		// Called once the server's side of a handshake is done (its
		// signature paid), whether or not a request follows.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.DidResume {
				m.Resumed.Add(1)
			} else {
				m.HandshakeFull.Add(1)
			}
			return nil
		},
	}
	s.public = &http.Server{
		Handler:           s.Handler(cfg.Work),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ErrorLog:          log.New(errorLogWriter{out: cfg.ErrorLog, m: m}, "", log.LstdFlags),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				m.Accepted.Add(1)
				m.Open.Add(1)
			case http.StateClosed, http.StateHijacked:
				m.Open.Add(-1)
			}
		},
	}
	s.admin = &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Handler serves the public routes and counts requests by route and code.
func (s *Server) Handler(work int) http.Handler {
	rs := routes(work)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		route := r.URL.Path
		if h, ok := rs[route]; ok {
			h(sw, r)
		} else {
			route = routeOther
			http.NotFound(sw, r)
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.Metrics.countRequest(route, sw.code)
	})
}

// AdminHandler serves pprof, /metrics and /healthz on its own mux.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WriteText(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return mux
}

// Listen opens a loopback TCP listener, refusing other addresses.
func Listen(addr string) (net.Listener, error) {
	if err := loopback.CheckAddr(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// Serve serves HTTPS on public and plain HTTP on admin until Shutdown.
// It returns at once; serve errors other than a shutdown go to errc.
func (s *Server) Serve(public, admin net.Listener) <-chan error {
	errc := make(chan error, 2)
	run := func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go run(s.public, tls.NewListener(public, s.TLS))
	go run(s.admin, admin)
	return errc
}

// Shutdown stops both listeners, waiting for active requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.public.Shutdown(ctx)
	if err2 := s.admin.Shutdown(ctx); err == nil {
		err = err2
	}
	if err != nil {
		s.public.Close()
		s.admin.Close()
	}
	return err
}
