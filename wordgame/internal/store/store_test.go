package store

import (
	"context"
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
