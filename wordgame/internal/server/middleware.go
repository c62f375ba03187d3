package server

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

type ctxKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// validRequestID accepts a client-supplied X-Request-Id of up to 64 safe characters.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// recorder captures the status, the number of body bytes written, and the
// first write error.
type recorder struct {
	http.ResponseWriter
	code     int
	bytes    int64
	writeErr error
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	if err != nil && r.writeErr == nil {
		r.writeErr = err
	}
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func routeLabel(path string) string {
	switch path {
	case "/new", "/guess":
		return path
	}
	return "other"
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodOptions, http.MethodPut, http.MethodDelete,
		http.MethodHead, http.MethodPatch:
		return m
	}
	return "OTHER"
}

// observe assigns the request id, and records one log line and the RED
// metrics per request, with the status actually delivered: the response is
// flushed here, and when a write or the flush fails (write deadline passed,
// connection gone) the request counts as code="none" and the log line says
// why ("undelivered") and what was attempted.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		if s.shuttingDown.Load() {
			w.Header().Set("Connection", "close") // draining: the client reconnects elsewhere
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
		rec := &recorder{ResponseWriter: w}
		s.m.RequestStarted()
		defer func() {
			d := time.Since(start)
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			attempted := code
			if rec.writeErr != nil {
				code = 0 // nothing delivered: code="none", log status 0
			}
			route, method := routeLabel(r.URL.Path), methodLabel(r.Method)
			s.m.RequestDone(route, method, code, d)
			if s.log.Enabled(r.Context(), slog.LevelInfo) {
				attrs := []slog.Attr{
					slog.String("request_id", id),
					slog.String("route", route),
					slog.String("method", r.Method),
					slog.Int("status", code),
					slog.Float64("duration_ms", float64(d.Microseconds())/1000),
					slog.Int64("bytes", rec.bytes),
					slog.String("remote", r.RemoteAddr),
				}
				if rec.writeErr != nil {
					attrs = append(attrs, slog.String("undelivered", rec.writeErr.Error()),
						slog.Int("attempted_status", attempted))
				}
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.writeErr == nil && rec.code != 0 {
			if err := http.NewResponseController(rec.ResponseWriter).Flush(); err != nil {
				rec.writeErr = err
			}
		}
	})
}

// recoverer turns a handler panic into a 500 JSON response (when nothing was
// written yet), so that every request still gets exactly one response.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "request_id", requestID(r.Context()), "panic", v)
			if rec, ok := w.(*recorder); ok && rec.code != 0 {
				return // headers are out; net/http ends the response
			}
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}
