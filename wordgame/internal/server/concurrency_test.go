package server

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Hundreds of players play whole games at once over real HTTP, under -race.
// Each checks that every transition of its game obeys the rules.
func TestConcurrentFullGames(t *testing.T) {
	words := []string{"APPLE", "BANANA", "CHERRY", "ORANGE", "PYTHON", "GOPHER", "KERNEL", "SOCKET", "Q", "MISSISSIPPI"}
	e := newEnv(t, opts{words: words, metrics: true})
	ts := httptest.NewServer(e.srv.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 500, MaxIdleConnsPerHost: 500}}

	const players = 300
	var wg sync.WaitGroup
	errs := make(chan error, players)
	var mu sync.Mutex
	won, lost, guesses := 0, 0, 0
	for p := 0; p < players; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			w, l, n, err := play(client, ts.URL, uint64(p))
			if err != nil {
				errs <- fmt.Errorf("player %d: %w", p, err)
				return
			}
			mu.Lock()
			won, lost, guesses = won+w, lost+l, guesses+n
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if won+lost != players || e.store.Len() != 0 {
		t.Fatalf("won %d + lost %d != %d, %d games left", won, lost, players, e.store.Len())
	}
	m := metricLines(t, e)
	check := map[string]int{
		"wordgame_games_started_total":                 players,
		`wordgame_games_finished_total{result="won"}`:  won,
		`wordgame_games_finished_total{result="lost"}`: lost,
		"wordgame_games_active":                        0,
	}
	for k, v := range check {
		if m[k] != fmt.Sprint(v) {
			t.Errorf("%s = %s, want %d", k, m[k], v)
		}
	}
	var hit, miss int
	fmt.Sscan(m[`wordgame_guesses_total{result="hit"}`], &hit)
	fmt.Sscan(m[`wordgame_guesses_total{result="miss"}`], &miss)
	if hit+miss != guesses {
		t.Errorf("hit %d + miss %d != %d guesses", hit, miss, guesses)
	}
}

func post(c *http.Client, url, body string) (int, state, error) {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, state{}, err
	}
	defer resp.Body.Close()
	var s state
	if resp.StatusCode == 200 {
		err = json.NewDecoder(resp.Body).Decode(&s)
	}
	return resp.StatusCode, s, err
}

// play guesses letters in a random order (with some repeats) until the game
// ends, checking every transition. It returns won, lost, applied guesses.
func play(c *http.Client, base string, seed uint64) (int, int, int, error) {
	code, s, err := post(c, base+"/new", "")
	if err != nil || code != 200 {
		return 0, 0, 0, fmt.Errorf("/new: %d %v", code, err)
	}
	if s.GuessesRemaining != 6 || strings.Trim(s.Current, "_") != "" || s.Current == "" {
		return 0, 0, 0, fmt.Errorf("bad initial state %+v", s)
	}
	r := rand.New(rand.NewPCG(seed, 42))
	letters := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	r.Shuffle(len(letters), func(i, j int) { letters[i], letters[j] = letters[j], letters[i] })
	seq := append([]byte{}, letters...)
	for i := 0; i < 5; i++ { // a few repeats, to exercise repeated hits and misses
		k := r.IntN(len(seq))
		seq = append(seq[:k+1], seq[k:]...)
	}
	n := 0
	for _, l := range seq {
		g := string(l)
		if r.IntN(2) == 0 {
			g = strings.ToLower(g)
		}
		code, next, err := post(c, base+"/guess", guessBody(s.ID, g))
		if err != nil || code != 200 {
			return 0, 0, n, fmt.Errorf("guess %s: %d %v", g, code, err)
		}
		n++
		if next.ID != s.ID || len(next.Current) != len(s.Current) {
			return 0, 0, n, fmt.Errorf("state changed shape: %+v -> %+v", s, next)
		}
		hit := strings.IndexByte(next.Current, l) >= 0
		for i := range s.Current {
			switch {
			case s.Current[i] != '_' && next.Current[i] != s.Current[i]:
				return 0, 0, n, fmt.Errorf("revealed letter changed: %q -> %q", s.Current, next.Current)
			case s.Current[i] == '_' && next.Current[i] != '_' && next.Current[i] != l:
				return 0, 0, n, fmt.Errorf("guess %c revealed %q", l, next.Current)
			}
		}
		if hit && next.GuessesRemaining != s.GuessesRemaining || !hit && next.GuessesRemaining != s.GuessesRemaining-1 {
			return 0, 0, n, fmt.Errorf("guess %c hit=%v: remaining %d -> %d", l, hit, s.GuessesRemaining, next.GuessesRemaining)
		}
		if !hit && next.Current != s.Current {
			return 0, 0, n, fmt.Errorf("miss changed the word")
		}
		s = next
		done := !strings.Contains(s.Current, "_") || s.GuessesRemaining == 0
		if done {
			code, _, err := post(c, base+"/guess", guessBody(s.ID, "a"))
			if err != nil || code != 404 {
				return 0, 0, n, fmt.Errorf("finished game answered %d %v", code, err)
			}
			if s.GuessesRemaining == 0 {
				return 0, 1, n, nil
			}
			return 1, 0, n, nil
		}
	}
	return 0, 0, n, fmt.Errorf("game never ended: %+v", s)
}
