package server

import (
	"strconv"
	"testing"
	"time"

	"perfkit.local/wordgame/internal/store"
)

func TestNewPastMaxGames(t *testing.T) {
	e := newEnv(t, opts{metrics: true, storeOpt: store.Options{MaxGames: 2, TTL: 90 * time.Second}})
	got := metricLines(t, e)
	for k, v := range map[string]string{
		`wordgame_games_rejected_total{reason="capacity"}`: "0", `wordgame_games_max`: "2",
		`wordgame_game_ttl_seconds`: "90", `wordgame_games_oldest_idle_seconds`: "0", `wordgame_draining`: "0",
		`wordgame_http_requests_total{code="200",method="POST",route="/new"}`:   "0",
		`wordgame_http_requests_total{code="200",method="GET",route="/new"}`:    "0",
		`wordgame_http_requests_total{code="200",method="POST",route="/guess"}`: "0",
	} {
		if got[k] != v {
			t.Errorf("at start %s = %q, want %s", k, got[k], v)
		}
	}
	e.newGame(t)
	g := e.newGame(t)
	r := e.do(t, "POST", "/new", "")
	if r.code != 503 || r.json(t)["error"] == nil {
		t.Fatalf("past max: %d %s", r.code, r.body)
	}
	// Retry-After: when the oldest game expires (90 s, rounded up), clamped to a minute.
	if ra, err := strconv.Atoi(r.hdr.Get("Retry-After")); err != nil || ra != 60 {
		t.Fatalf("Retry-After %q", r.hdr.Get("Retry-After"))
	}
	if r := e.do(t, "GET", "/new", ""); r.code != 503 {
		t.Fatalf("GET /new past max: %d", r.code)
	}
	got = metricLines(t, e)
	if got[`wordgame_games_rejected_total{reason="capacity"}`] != "2" ||
		got[`wordgame_http_requests_total{code="503",method="POST",route="/new"}`] != "1" ||
		got[`wordgame_games_started_total`] != "2" {
		t.Fatalf("metrics after rejections: %v", got)
	}
	// Guesses on live games still work, and a lost game frees a slot.
	for _, l := range "abcdfg" {
		e.guess(t, g.ID, string(l))
	}
	e.newGame(t)
}
