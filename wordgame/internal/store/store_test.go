package store

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"perfkit.local/wordgame/internal/game"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewUUID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or duplicate uuid %q", id)
		}
		seen[id] = true
	}
}

func TestGuessRemovesFinishedGames(t *testing.T) {
	s := New(Options{})
	won, _ := s.Create("GO")
	s.Guess(won.ID, 'G')
	r, err := s.Guess(won.ID, 'O')
	if err != nil || r.Status != game.Won || r.State.Current != "GO" {
		t.Fatalf("win: %+v %v", r, err)
	}
	if _, err := s.Guess(won.ID, 'O'); err != ErrNotFound {
		t.Fatalf("won game still there: %v", err)
	}
	lost, _ := s.Create("GO")
	for _, c := range "ABCDEF" {
		r, err = s.Guess(lost.ID, byte(c))
	}
	if err != nil || r.Status != game.Lost || r.State.GuessesRemaining != 0 {
		t.Fatalf("loss: %+v %v", r, err)
	}
	if _, ok := s.Get(lost.ID); ok || s.Len() != 0 {
		t.Fatal("lost game still there")
	}
}

func TestEvictionWithFakeClock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var evicted atomic.Int64
	s := New(Options{TTL: 10 * time.Second, Now: clk.Now, OnEvict: func(n int) { evicted.Add(int64(n)) }})
	idle, _ := s.Create("HELLO")
	busy, _ := s.Create("HELLO")
	clk.Add(6 * time.Second)
	if _, err := s.Guess(busy.ID, 'L'); err != nil { // touching resets the idle time
		t.Fatal(err)
	}
	clk.Add(4*time.Second - time.Nanosecond)
	if n := s.EvictIdle(); n != 0 {
		t.Fatalf("evicted %d before the TTL", n)
	}
	clk.Add(time.Nanosecond)
	if n := s.EvictIdle(); n != 1 || evicted.Load() != 1 {
		t.Fatalf("evicted %d (counter %d), want 1", n, evicted.Load())
	}
	if _, ok := s.Get(idle.ID); ok {
		t.Fatal("idle game survived")
	}
	if st, ok := s.Get(busy.ID); !ok || st.Current != "__LL_" {
		t.Fatal("busy game lost")
	}
	// An expired game is gone on access even before the sweeper runs.
	clk.Add(10 * time.Second)
	if _, err := s.Guess(busy.ID, 'H'); err != ErrNotFound || evicted.Load() != 2 || s.Len() != 0 {
		t.Fatalf("expired game answered: %v, evicted=%d", err, evicted.Load())
	}
}

func TestRunEvictorRealTime(t *testing.T) {
	var evicted atomic.Int64
	s := New(Options{TTL: 100 * time.Millisecond, OnEvict: func(n int) { evicted.Add(int64(n)) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunEvictor(ctx, 10*time.Millisecond); close(done) }()
	s.Create("HELLO")
	deadline := time.Now().Add(3 * time.Second)
	for s.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if s.Len() != 0 || evicted.Load() != 1 {
		t.Fatalf("len %d evicted %d", s.Len(), evicted.Load())
	}
}

func TestSweepInterval(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		24 * time.Hour: time.Minute, 2 * time.Second: 500 * time.Millisecond, time.Millisecond: 10 * time.Millisecond,
	} {
		if got := SweepInterval(ttl); got != want {
			t.Errorf("SweepInterval(%v) = %v, want %v", ttl, got, want)
		}
	}
}

// Many goroutines hammer one game: every guess is atomic, so the misses
// reported equal the guesses spent and exactly one caller sees the end.
func TestConcurrentGuessesOnOneGame(t *testing.T) {
	for round := 0; round < 20; round++ {
		s := New(Options{})
		g, _ := s.Create("QUIZ")
		var misses, finals, notFound atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 50; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 26; i++ {
					c := byte('A' + (i+w)%26)
					r, err := s.Guess(g.ID, c)
					if err == ErrNotFound {
						notFound.Add(1)
						continue
					}
					if !r.Hit {
						misses.Add(1)
					}
					if r.Status != game.InProgress {
						finals.Add(1)
					}
				}
			}(w)
		}
		wg.Wait()
		if finals.Load() != 1 {
			t.Fatalf("round %d: %d callers saw the game end", round, finals.Load())
		}
		if misses.Load() > 6 || s.Len() != 0 {
			t.Fatalf("round %d: %d misses applied, len %d", round, misses.Load(), s.Len())
		}
	}
}

func TestMaxGamesAndRetryAfter(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var evicted atomic.Int64
	s := New(Options{TTL: 30 * time.Second, MaxGames: 2, Now: clk.Now, OnEvict: func(n int) { evicted.Add(int64(n)) }})
	a, _ := s.Create("HELLO")
	clk.Add(10 * time.Second)
	if _, err := s.Create("HELLO"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create("HELLO")
	var fe *FullError
	if !errors.Is(err, ErrFull) || !errors.As(err, &fe) || fe.RetryAfter != 20*time.Second || s.Len() != 2 {
		t.Fatalf("third game: %v %+v len %d", err, fe, s.Len())
	}
	// Touching a moves it to the back: the next to expire is b, 30 s after its creation.
	clk.Add(5 * time.Second)
	s.Guess(a.ID, 'L')
	if _, err := s.Create("HELLO"); !errors.As(err, &fe) || fe.RetryAfter != 25*time.Second {
		t.Fatalf("after touch: %v %+v", err, fe)
	}
	// Clamped: never below MinRetry, never above MaxRetry.
	clk.Add(25*time.Second - time.Millisecond)
	if _, err := s.Create("HELLO"); !errors.As(err, &fe) || fe.RetryAfter != MinRetry {
		t.Fatalf("clamp low: %v %+v", err, fe)
	}
	big := New(Options{TTL: time.Hour, MaxGames: 1, Now: clk.Now})
	big.Create("HELLO")
	if _, err := big.Create("HELLO"); !errors.As(err, &fe) || fe.RetryAfter != MaxRetry {
		t.Fatalf("clamp high: %v %+v", err, fe)
	}
	// At capacity, an expired game makes room at once (no wait for the sweeper).
	clk.Add(time.Millisecond)
	if _, err := s.Create("HELLO"); err != nil || s.Len() != 2 || evicted.Load() != 1 {
		t.Fatalf("expired game not reclaimed: %v len %d evicted %d", err, s.Len(), evicted.Load())
	}
	// A finished game frees its slot.
	f := New(Options{MaxGames: 1})
	g, _ := f.Create("GO")
	f.Guess(g.ID, 'G')
	f.Guess(g.ID, 'O')
	if _, err := f.Create("GO"); err != nil {
		t.Fatalf("slot of a won game not freed: %v", err)
	}
}

func TestOldestIdleFollowsLRU(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := New(Options{TTL: time.Minute, Now: clk.Now})
	if s.OldestIdle() != 0 {
		t.Fatal("empty store has an idle game")
	}
	a, _ := s.Create("HELLO")
	clk.Add(3 * time.Second)
	b, _ := s.Create("HELLO")
	clk.Add(2 * time.Second)
	if d := s.OldestIdle(); d != 5*time.Second {
		t.Fatalf("oldest idle %v, want 5s", d)
	}
	s.Guess(a.ID, 'H') // a is now the most recent: b (2 s idle) is the oldest
	if d := s.OldestIdle(); d != 2*time.Second {
		t.Fatalf("after touching a: %v, want 2s", d)
	}
	s.Guess(b.ID, 'Z')
	clk.Add(time.Second)
	if d := s.OldestIdle(); d != time.Second {
		t.Fatalf("after touching b: %v", d)
	}
}

// The sweep holds the lock for at most Batch games per critical section,
// whatever the number of expired games: counted, not timed, so it cannot flake.
func TestEvictIdleBoundedBatches(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var calls, evicted atomic.Int64
	s := New(Options{TTL: time.Minute, Batch: 100, Now: clk.Now,
		OnEvict: func(n int) { calls.Add(1); evicted.Add(int64(n)) }})
	for i := 0; i < 10_050; i++ {
		s.Create("HELLO")
	}
	clk.Add(30 * time.Second)
	live := make([]string, 0, 500)
	for i := 0; i < 500; i++ {
		g, _ := s.Create("HELLO")
		live = append(live, g.ID)
	}
	clk.Add(30 * time.Second) // the first 10,050 expired, the 500 have 30 s left
	if n := s.EvictIdle(); n != 10_050 || s.Len() != 500 || evicted.Load() != 10_050 || calls.Load() != 1 {
		t.Fatalf("evicted %d, len %d, counter %d in %d calls", n, s.Len(), evicted.Load(), calls.Load())
	}
	if s.maxSection != 100 {
		t.Fatalf("a critical section removed %d games, want at most (and here exactly) 100", s.maxSection)
	}
	for _, id := range live {
		if _, ok := s.Get(id); !ok {
			t.Fatal("live game evicted")
		}
	}
	if d := s.OldestIdle(); d != 30*time.Second {
		t.Fatalf("oldest idle after sweep %v", d)
	}
}

// Creates, guesses and sweeps at once (run with -race): the list and the map agree.
func TestConcurrentSweepKeepsListConsistent(t *testing.T) {
	s := New(Options{TTL: 5 * time.Millisecond, Batch: 7, MaxGames: 2000})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunEvictor(ctx, time.Millisecond); close(done) }()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				g, err := s.Create("HELLO")
				if err != nil {
					if !errors.Is(err, ErrFull) {
						t.Error(err)
					}
					continue
				}
				s.Guess(g.ID, byte('A'+i%26))
			}
		}()
	}
	wg.Wait()
	cancel()
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	var prev *entry
	for e := s.head; e != nil; e = e.next {
		if e.prev != prev || s.games[e.g.ID] != e || (prev != nil && e.lastUsed.Before(prev.lastUsed)) {
			t.Fatal("list and map disagree, or list not ordered by last use")
		}
		prev, n = e, n+1
	}
	if n != len(s.games) || prev != s.tail {
		t.Fatalf("list has %d entries, map %d", n, len(s.games))
	}
}
