package server

import (
	"strings"
	"testing"
	"time"

	"perfkit.local/wordgame/internal/store"
)

func metricLines(t *testing.T, e *env) map[string]string {
	t.Helper()
	r := e.admin(t, "/metrics")
	if r.code != 200 {
		t.Fatalf("/metrics: %d", r.code)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(r.body), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		out[l[:i]] = l[i+1:]
	}
	return out
}

func TestMetricsAfterScriptedSequence(t *testing.T) {
	e := newEnv(t, opts{metrics: true})
	won := e.newGame(t)
	lost := e.newGame(t)
	for _, l := range []string{"h", "z", "e", "l", "o"} { // 4 hits, 1 miss, won
		e.guess(t, won.ID, l)
	}
	for _, l := range "abcdfg" { // 6 misses, lost
		e.guess(t, lost.ID, string(l))
	}
	e.do(t, "POST", "/guess", "not json") // rejected 400
	e.guess(t, won.ID, "hh")              // rejected 400
	e.guess(t, won.ID, "h")               // rejected 404 (finished)
	e.do(t, "GET", "/guess", "")          // 405
	e.do(t, "OPTIONS", "/new", "")        // 200 preflight
	e.newGame(t)                          // third game stays active
	e.do(t, "GET", "/nope", "")           // 404 route other

	got := metricLines(t, e)
	want := map[string]string{
		`wordgame_games_started_total`:                                                          "3",
		`wordgame_games_finished_total{result="won"}`:                                           "1",
		`wordgame_games_finished_total{result="lost"}`:                                          "1",
		`wordgame_guesses_total{result="hit"}`:                                                  "4",
		`wordgame_guesses_total{result="miss"}`:                                                 "7",
		`wordgame_guesses_total{result="rejected"}`:                                             "3",
		`wordgame_games_active`:                                                                 "1",
		`wordgame_games_evicted_total`:                                                          "0",
		`wordgame_http_requests_in_flight`:                                                      "0",
		`wordgame_http_requests_total{code="200",method="POST",route="/new"}`:                   "3",
		`wordgame_http_requests_total{code="200",method="POST",route="/guess"}`:                 "11",
		`wordgame_http_requests_total{code="400",method="POST",route="/guess"}`:                 "2",
		`wordgame_http_requests_total{code="404",method="POST",route="/guess"}`:                 "1",
		`wordgame_http_requests_total{code="405",method="GET",route="/guess"}`:                  "1",
		`wordgame_http_requests_total{code="200",method="OPTIONS",route="/new"}`:                "1",
		`wordgame_http_requests_total{code="404",method="GET",route="other"}`:                   "1",
		`wordgame_http_request_duration_seconds_count{method="POST",route="/guess"}`:            "14",
		`wordgame_http_request_duration_seconds_bucket{method="POST",route="/guess",le="+Inf"}`: "14",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	var bi string
	for k, v := range got {
		if strings.HasPrefix(k, "wordgame_build_info{") && strings.Contains(k, `goversion="go`) && strings.Contains(k, `version=`) {
			bi = v
		}
	}
	if bi != "1" {
		t.Error("wordgame_build_info{version,goversion} 1 missing")
	}
	for _, k := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := got[k]; !ok {
			t.Errorf("runtime/process metric %s missing", k)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	e := newEnv(t, opts{metrics: false})
	g := e.newGame(t)
	e.guess(t, g.ID, "h")
	got := metricLines(t, e)
	for k := range got {
		if strings.HasPrefix(k, "wordgame_") && !strings.HasPrefix(k, "wordgame_build_info") {
			t.Errorf("metrics off but %s exported", k)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("runtime collector should stay on")
	}
}

func TestEvictionThroughServer(t *testing.T) {
	e := newEnv(t, opts{metrics: true, storeOpt: store.Options{TTL: 300 * time.Millisecond}})
	g := e.newGame(t)
	kept := e.newGame(t)
	ctxDone := make(chan struct{})
	stop := make(chan struct{})
	go func() { defer close(ctxDone); runEvictorUntil(e.store, stop) }()
	defer func() { close(stop); <-ctxDone }()
	// Keep one game busy with free hits; leave the other idle.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r := e.guess(t, kept.ID, "l"); r.code != 200 {
			t.Fatalf("active game evicted: %d", r.code)
		}
		if _, ok := e.store.Get(g.ID); !ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := e.guess(t, g.ID, "h"); r.code != 404 {
		t.Fatalf("idle game still answers: %d", r.code)
	}
	m := metricLines(t, e)
	if m["wordgame_games_evicted_total"] != "1" || m["wordgame_games_active"] != "1" {
		t.Fatalf("evicted=%s active=%s", m["wordgame_games_evicted_total"], m["wordgame_games_active"])
	}
}

// Before any request, the public API's SLI series exist as 0, so that the
// SLO ratios and the absent() alerts see a fresh server.
func TestSLISeriesExistBeforeTheFirstRequest(t *testing.T) {
	e := newEnv(t, opts{metrics: true})
	got := metricLines(t, e)
	for _, rm := range [][2]string{{"/new", "GET"}, {"/new", "POST"}, {"/guess", "POST"}} {
		for _, k := range []string{
			`wordgame_http_requests_total{code="200",method="` + rm[1] + `",route="` + rm[0] + `"}`,
			`wordgame_http_request_duration_seconds_count{method="` + rm[1] + `",route="` + rm[0] + `"}`,
			`wordgame_http_request_duration_seconds_bucket{method="` + rm[1] + `",route="` + rm[0] + `",le="0.1"}`,
		} {
			if got[k] != "0" {
				t.Errorf("%s = %q before any request, want 0", k, got[k])
			}
		}
	}
}
