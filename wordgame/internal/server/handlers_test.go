package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewGameGETAndPOST(t *testing.T) {
	e := newEnv(t, opts{})
	for _, m := range []string{"GET", "POST"} {
		r := e.do(t, m, "/new", "ignored body")
		if r.code != 200 || r.hdr.Get("Content-Type") != "application/json" || r.hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s /new: %d %v", m, r.code, r.hdr)
		}
		s := decodeState(t, r.body)
		if s.Current != "_____" || s.GuessesRemaining != 6 || len(s.ID) != 36 {
			t.Fatalf("%s /new: %+v", m, s)
		}
		if r.hdr.Get("X-Request-Id") == "" {
			t.Fatal("no X-Request-Id")
		}
	}
	if e.store.Len() != 2 {
		t.Fatalf("store has %d games", e.store.Len())
	}
}

func TestGuessFlowWinAndRemoval(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	want := []state{{g.ID, "__LL_", 6}, {g.ID, "__LL_", 5}, {g.ID, "H_LL_", 5}, {g.ID, "HELL_", 5}, {g.ID, "HELLO", 5}}
	for i, l := range []string{"l", "x", "H", "e", "o"} {
		r := e.guess(t, g.ID, l)
		if r.code != 200 || r.hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("guess %s: %d %s", l, r.code, r.body)
		}
		if s := decodeState(t, r.body); s != want[i] {
			t.Fatalf("guess %s: %+v want %+v", l, s, want[i])
		}
	}
	if r := e.guess(t, g.ID, "h"); r.code != 404 {
		t.Fatalf("finished game: %d", r.code)
	}
}

func TestGuessFlowLossNeverRevealsWord(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	var r resp
	for _, l := range "abcdfg" {
		r = e.guess(t, g.ID, string(l))
	}
	s := decodeState(t, r.body)
	if r.code != 200 || s.GuessesRemaining != 0 || s.Current != "_____" || bytes.Contains(r.body, []byte("HELLO")) {
		t.Fatalf("loss: %d %s", r.code, r.body)
	}
	if r := e.guess(t, g.ID, "h"); r.code != 404 {
		t.Fatalf("lost game: %d", r.code)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	big := `{"id":"` + g.ID + `","guess":"a","pad":"` + strings.Repeat("x", 5000) + `"}`
	cases := []struct {
		name, method, path, body string
		code                     int
		allow                    string
	}{
		{"not json", "POST", "/guess", "not json", 400, ""},
		{"empty body", "POST", "/guess", "", 400, ""},
		{"json array", "POST", "/guess", `[{"id":"` + g.ID + `","guess":"a"}]`, 400, ""},
		{"json null", "POST", "/guess", `null`, 400, ""},
		{"trailing data", "POST", "/guess", guessBody(g.ID, "h") + `{}`, 400, ""},
		{"missing id", "POST", "/guess", `{"guess":"a"}`, 400, ""},
		{"empty id", "POST", "/guess", `{"id":"","guess":"a"}`, 400, ""},
		{"numeric id", "POST", "/guess", `{"id":5,"guess":"a"}`, 400, ""},
		{"missing guess", "POST", "/guess", `{"id":"` + g.ID + `"}`, 400, ""},
		{"empty guess", "POST", "/guess", guessBody(g.ID, ""), 400, ""},
		{"two letters", "POST", "/guess", guessBody(g.ID, "he"), 400, ""},
		{"digit", "POST", "/guess", guessBody(g.ID, "1"), 400, ""},
		{"non-ascii letter", "POST", "/guess", guessBody(g.ID, "é"), 400, ""},
		{"guess not a string", "POST", "/guess", `{"id":"` + g.ID + `","guess":["h"]}`, 400, ""},
		{"unknown id", "POST", "/guess", guessBody("00000000-0000-4000-8000-000000000000", "h"), 404, ""},
		{"unknown path", "GET", "/nope", "", 404, ""},
		{"root", "GET", "/", "", 404, ""},
		{"PUT /new", "PUT", "/new", "", 405, "GET, POST, OPTIONS"},
		{"DELETE /new", "DELETE", "/new", "", 405, "GET, POST, OPTIONS"},
		{"GET /guess", "GET", "/guess", "", 405, "POST, OPTIONS"},
		{"PUT /guess", "PUT", "/guess", guessBody(g.ID, "h"), 405, "POST, OPTIONS"},
		{"too large /guess", "POST", "/guess", big, 413, ""},
		{"too large /new", "POST", "/new", big, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.body)
			if r.code != c.code {
				t.Fatalf("status %d, want %d (%s)", r.code, c.code, r.body)
			}
			if r.hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", r.hdr.Get("Content-Type"))
			}
			if msg, ok := r.json(t)["error"].(string); !ok || msg == "" {
				t.Fatalf("no error message: %s", r.body)
			}
			if got := r.hdr.Get("Allow"); got != c.allow {
				t.Fatalf("Allow %q, want %q", got, c.allow)
			}
		})
	}
	// None of the rejected requests touched the game.
	if s, ok := e.store.Get(g.ID); !ok || s.Current != "_____" || s.GuessesRemaining != 6 {
		t.Fatalf("game changed by rejected requests: %+v %v", s, ok)
	}
	if e.store.Len() != 1 {
		t.Fatalf("a rejected /new created a game: %d", e.store.Len())
	}
}

func TestTooLargeChunkedBody(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	body := guessBody(g.ID, "h") + strings.Repeat(" ", 5000)
	req := httptest.NewRequest("POST", "/guess", strings.NewReader(body))
	req.ContentLength = -1 // unknown length: the limit is enforced while reading
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	if w.Code != 413 {
		t.Fatalf("status %d", w.Code)
	}
	if s, _ := e.store.Get(g.ID); s.Current != "_____" {
		t.Fatal("oversized request was applied")
	}
	// Exactly at the limit is fine.
	ok := guessBody(g.ID, "h")
	ok += strings.Repeat(" ", DefaultMaxBodyBytes-len(ok))
	if r := e.do(t, "POST", "/guess", ok); r.code != 200 {
		t.Fatalf("body at the limit: %d %s", r.code, r.body)
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, opts{})
	for _, p := range []string{"/new", "/guess"} {
		r := e.do(t, "OPTIONS", p, "")
		if r.code != 200 || len(r.body) != 0 {
			t.Fatalf("OPTIONS %s: %d %q", p, r.code, r.body)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
			"Access-Control-Allow-Headers": "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization",
		}
		for k, v := range want {
			if got := r.hdr.Get(k); got != v {
				t.Errorf("OPTIONS %s %s: %q want %q", p, k, got, v)
			}
		}
	}
	if e.store.Len() != 0 {
		t.Fatal("preflight created a game")
	}
}

// A rejected request never changes game state, whatever is wrong with it.
func TestRejectedRequestChangesNothing(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	e.guess(t, g.ID, "l")
	e.guess(t, g.ID, "z")
	before, _ := e.store.Get(g.ID)
	bad := []string{
		guessBody(g.ID, "ho"), guessBody(g.ID, "HELLO"), guessBody(g.ID, "zz"), guessBody(g.ID, ""),
		guessBody(g.ID, "9"), guessBody(g.ID, " h"), `{"id":"` + g.ID + `","guess":"h"`, `{"id":"` + g.ID + `","guess":null}`,
		`{"id":"` + g.ID + `","guess":104}`,
	}
	for _, b := range bad {
		if r := e.do(t, "POST", "/guess", b); r.code != 400 {
			t.Fatalf("%s: %d", b, r.code)
		}
		if after, _ := e.store.Get(g.ID); after != before {
			t.Fatalf("%s changed the game: %+v -> %+v", b, before, after)
		}
	}
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH"} {
		e.do(t, m, "/guess", guessBody(g.ID, "h"))
	}
	if after, _ := e.store.Get(g.ID); after != before {
		t.Fatal("a 405 changed the game")
	}
}

func TestPanicGivesOneJSON500(t *testing.T) {
	e := newEnv(t, opts{wrap: func(http.Handler) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	}})
	r := e.do(t, "GET", "/new", "")
	if r.code != 500 || r.json(t)["error"] == nil {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestRequestLogAndSecretWord(t *testing.T) {
	e := newEnv(t, opts{level: slog.LevelInfo})
	g := e.newGame(t)
	for _, l := range "helo" {
		e.guess(t, g.ID, string(l))
	}
	logs := e.logs.String()
	if strings.Contains(logs, "HELLO") {
		t.Fatalf("secret word logged at info: %s", logs)
	}
	line := strings.SplitN(logs, "\n", 2)[0]
	for _, f := range []string{`"msg":"request"`, `"request_id":`, `"route":"/new"`, `"method":"POST"`, `"status":200`, `"duration_ms":`, `"bytes":`} {
		if !strings.Contains(line, f) {
			t.Errorf("request log line lacks %s: %s", f, line)
		}
	}
	// A client request id is kept.
	req := httptest.NewRequest("GET", "/new", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	if w.Header().Get("X-Request-Id") != "abc-123" || !strings.Contains(e.logs.String(), `"request_id":"abc-123"`) {
		t.Fatal("client request id not propagated")
	}

	d := newEnv(t, opts{level: slog.LevelDebug})
	d.newGame(t)
	if !strings.Contains(d.logs.String(), `"word":"HELLO"`) {
		t.Fatal("debug level should log the word")
	}
}

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t, opts{})
	if r := e.admin(t, "/healthz"); r.code != 200 {
		t.Fatal(r.code)
	}
	if r := e.admin(t, "/readyz"); r.code != 200 {
		t.Fatal(r.code)
	}
	e.srv.BeginShutdown()
	if r := e.admin(t, "/readyz"); r.code != 503 {
		t.Fatal(r.code)
	}
	if r := e.admin(t, "/debug/pprof/"); r.code != 200 {
		t.Fatalf("admin pprof: %d", r.code)
	}
	// Never on the public handler.
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/metrics", "/healthz"} {
		if r := e.do(t, "GET", p, ""); r.code != 404 {
			t.Fatalf("public %s: %d", p, r.code)
		}
	}
}

// 400s say what is wrong with the request, in our words, not encoding/json's.
func TestGuessErrorMessages(t *testing.T) {
	e := newEnv(t, opts{})
	g := e.newGame(t)
	for body, want := range map[string]string{
		`{"id":"` + g.ID + `","guess":1}`:     `"guess" must be a string of one letter A-Z`,
		`{"id":"` + g.ID + `","guess":["a"]}`: `"guess" must be a string of one letter A-Z`,
		`{"id":7,"guess":"a"}`:                `"id" must be a string (the id from /new)`,
		`{"id":"` + g.ID + `","guess":"ab"}`:  "guess must be exactly one letter A-Z",
		`{"id":"` + g.ID + `","guess":null}`:  `missing "guess"`,
		`{"guess":"a"}`:                       `missing "id"`,
		`[1]`:                                 `body must be a JSON object with string fields "id" and "guess"`,
		`{"id":"x","guess":"a"} trailing`:     `body must be a JSON object with string fields "id" and "guess" (invalid JSON at byte 24)`,
		`{"id":"x","guess":`:                  `body must be a JSON object with string fields "id" and "guess" (invalid JSON at byte 18)`,
	} {
		r := e.do(t, "POST", "/guess", body)
		msg, _ := r.json(t)["error"].(string)
		if r.code != 400 || msg != want || leaksInternals(msg) {
			t.Errorf("%s: %d %q, want 400 %q", body, r.code, msg, want)
		}
	}
}
