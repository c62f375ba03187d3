package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzGuessHandler sends arbitrary bodies to POST /guess. "$ID" in a body is
// replaced by the id of a live game. The handler must never panic or answer
// 5xx, must answer JSON, and must leave the game untouched unless it says 200.
//
//	go test -run='^$' -fuzz=FuzzGuessHandler -fuzztime=10s ./internal/server
func FuzzGuessHandler(f *testing.F) {
	seeds := []string{
		`{"id":"$ID","guess":"a"}`, `{"id":"$ID","guess":"H"}`, `{"id":"$ID","guess":"ab"}`,
		`{"id":"$ID","guess":""}`, `{"id":"$ID","guess":"é"}`, `{"id":"$ID","guess":"\u0000"}`,
		`{"id":"$ID"}`, `{"guess":"a"}`, `{"id":"nope","guess":"a"}`, `{"id":1,"guess":"a"}`,
		`{"id":"$ID","guess":"a"} trailing`, `[1,2]`, `null`, `""`, `not json`, ``, `{`, `{"id":"$ID","guess":"a"`,
		`{"id":"$ID","guess":"a","id":"x"}`, `{"ID":"$ID","GUESS":"l"}`, "\xff\xfe{}",
		`{"id":"$ID","guess":1}`, `{"id":"$ID","guess":["a"]}`, `{"id":{},"guess":"a"}`, `{"id":"$ID","guess":true}`,
		`{"id":"$ID","guess":null}`, `{"id":null,"guess":"a"}`, `{"id":"$ID","guess":"\ud800"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f, opts{metrics: true, level: slog.LevelError})
	f.Fuzz(func(t *testing.T, body []byte) {
		g := e.newGame(t)
		body = bytes.ReplaceAll(body, []byte("$ID"), []byte(g.ID))
		before, _ := e.store.Get(g.ID)
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/guess", bytes.NewReader(body)))
		switch w.Code {
		case 200, 400, 404, 413:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("non-JSON response %q", w.Body)
		}
		if w.Code != 200 {
			msg, ok := v["error"].(string)
			if !ok {
				t.Fatalf("error body without error: %s", w.Body)
			}
			if leaksInternals(msg) {
				t.Fatalf("encoding/json internals in %q for %q", msg, body)
			}
			if after, _ := e.store.Get(g.ID); after != before {
				t.Fatalf("rejected %q changed the game", body)
			}
		}
		e.store.EvictIdle() // no-op with the 24h TTL; keeps the code path fuzzed
	})
}

// leaksInternals: Go type names or encoding/json's wording in a client message.
func leaksInternals(msg string) bool {
	for _, bad := range []string{"json:", "Go struct", "Go value", "unmarshal", "guessRequest", "RawMessage",
		"main.", "server.", "of type"} {
		if strings.Contains(msg, bad) {
			return true
		}
	}
	return false
}
