package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"perfkit.local/wordgame/internal/metrics"
	"perfkit.local/wordgame/internal/store"
)

type env struct {
	srv   *Server
	store *store.Store
	reg   *prometheus.Registry
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type opts struct {
	words    []string
	metrics  bool
	level    slog.Level
	storeOpt store.Options
	wrap     func(http.Handler) http.Handler
}

func newEnv(t testing.TB, o opts) *env {
	t.Helper()
	if o.words == nil {
		o.words = []string{"HELLO"}
	}
	reg := metrics.NewRegistry()
	var st *store.Store
	so := o.storeOpt
	m := metrics.New(reg, o.metrics, metrics.Store{Active: func() int { return st.Len() },
		OldestIdle: func() time.Duration { return st.OldestIdle() }, Max: so.MaxGames, TTL: cmp.Or(so.TTL, store.DefaultTTL)})
	so.OnEvict = m.Evicted
	st = store.New(so)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: o.level}))
	srv := New(Config{Store: st, Words: o.words, Metrics: m, Gatherer: reg, Logger: log, Wrap: o.wrap})
	return &env{srv: srv, store: st, reg: reg, logs: logs}
}

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return v
}

func (e *env) do(t testing.TB, method, path, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	return resp{w.Code, w.Result().Header, w.Body.Bytes()}
}

func (e *env) admin(t testing.TB, path string) resp {
	t.Helper()
	w := httptest.NewRecorder()
	e.srv.AdminHandler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return resp{w.Code, w.Result().Header, w.Body.Bytes()}
}

type state struct {
	ID               string `json:"id"`
	Current          string `json:"current"`
	GuessesRemaining int    `json:"guesses_remaining"`
}

func (e *env) newGame(t testing.TB) state {
	t.Helper()
	r := e.do(t, "POST", "/new", "")
	if r.code != 200 {
		t.Fatalf("/new: %d %s", r.code, r.body)
	}
	return decodeState(t, r.body)
}

func decodeState(t testing.TB, b []byte) state {
	t.Helper()
	var s state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("state %q: %v", b, err)
	}
	return s
}

func guessBody(id, g string) string {
	b, _ := json.Marshal(map[string]string{"id": id, "guess": g})
	return string(b)
}

func (e *env) guess(t testing.TB, id, g string) resp {
	t.Helper()
	return e.do(t, "POST", "/guess", guessBody(id, g))
}
