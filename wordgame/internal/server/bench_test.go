package server

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// BenchmarkGuess measures the /guess path (decode, store, encode, middleware)
// with metrics on and off. Logging is at warn level (no request lines) so the
// difference is the cost of instrumentation. The guess is a repeated hit on a
// word that never completes, so the game lives forever.
//
//	go test -run='^$' -bench=Guess -benchmem ./internal/server
func BenchmarkGuess(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, opts{words: []string{"AAB"}, metrics: on, level: slog.LevelWarn})
			g := e.newGame(b)
			body := []byte(guessBody(g.ID, "a"))
			h := e.srv.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/guess", bytes.NewReader(body)))
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			e := newEnv(b, opts{words: []string{"AAB"}, metrics: on, level: slog.LevelWarn})
			h := e.srv.Handler()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				g := e.newGame(b)
				body := []byte(guessBody(g.ID, "a"))
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("POST", "/guess", bytes.NewReader(body)))
					if w.Code != 200 {
						b.Error(w.Code)
						return
					}
				}
			})
		})
	}
}
