// Package store keeps games in process memory behind one mutex and evicts
// games that stay idle longer than a TTL.
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"perfkit.local/wordgame/internal/game"
)

// ErrNotFound: unknown id, finished game, or a game idle past the TTL.
var ErrNotFound = errors.New("game not found")

// Options configure a Store. Zero values give the defaults.
type Options struct {
	TTL     time.Duration    // idle time after which a game is evicted; default 24h
	Now     func() time.Time // clock; default time.Now (tests inject a fake)
	OnEvict func(n int)      // called (outside the lock) with the number of games evicted
	NewID   func() string    // game id generator; default random UUIDv4
}

type entry struct {
	g        *game.Game
	lastUsed time.Time
}

// Store is safe for concurrent use. Every operation on a game runs under the
// store lock, so a guess is atomic.
type Store struct {
	mu    sync.Mutex
	games map[string]*entry
	opt   Options
}

// DefaultTTL is the idle time after which a game is evicted.
const DefaultTTL = 24 * time.Hour

// New returns an empty store.
func New(opt Options) *Store {
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NewID == nil {
		opt.NewID = NewUUID
	}
	return &Store{games: make(map[string]*entry), opt: opt}
}

// TTL returns the idle TTL.
func (s *Store) TTL() time.Duration { return s.opt.TTL }

// Create starts a game on word and returns its initial state.
func (s *Store) Create(word string) (game.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.opt.NewID()
	for s.games[id] != nil { // practically never: 122 random bits
		id = s.opt.NewID()
	}
	g, err := game.New(id, word)
	if err != nil {
		return game.State{}, err
	}
	s.games[id] = &entry{g: g, lastUsed: s.opt.Now()}
	return g.State(), nil
}

// Result of one applied guess.
type Result struct {
	State  game.State
	Hit    bool
	Status game.Status
	Word   string // the secret, for debug logging only
}

// Guess applies an upper-case letter to game id atomically. A finished game
// is removed in the same critical section, so exactly one request sees it end.
func (s *Store) Guess(id string, letter byte) (Result, error) {
	evicted := 0
	defer func() {
		if evicted > 0 && s.opt.OnEvict != nil {
			s.opt.OnEvict(evicted)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.games[id]
	if e == nil {
		return Result{}, ErrNotFound
	}
	now := s.opt.Now()
	if now.Sub(e.lastUsed) >= s.opt.TTL { // expired, the sweeper has not run yet
		delete(s.games, id)
		evicted = 1
		return Result{}, ErrNotFound
	}
	hit, st := e.g.Guess(letter)
	e.lastUsed = now
	if st != game.InProgress {
		delete(s.games, id)
	}
	return Result{State: e.g.State(), Hit: hit, Status: st, Word: e.g.Word()}, nil
}

// Get returns the state of a game without touching it (tests, debugging).
func (s *Store) Get(id string) (game.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.games[id]
	if e == nil {
		return game.State{}, false
	}
	return e.g.State(), true
}

// Len is the number of games in memory.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.games)
}

// EvictIdle removes every game idle for at least the TTL and returns how many.
func (s *Store) EvictIdle() int {
	s.mu.Lock()
	now := s.opt.Now()
	n := 0
	for id, e := range s.games {
		if now.Sub(e.lastUsed) >= s.opt.TTL {
			delete(s.games, id)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 && s.opt.OnEvict != nil {
		s.opt.OnEvict(n)
	}
	return n
}

// RunEvictor calls EvictIdle every interval until ctx is done. The interval
// defaults to SweepInterval(TTL) when <= 0.
func (s *Store) RunEvictor(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = SweepInterval(s.opt.TTL)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.EvictIdle()
		}
	}
}

// SweepInterval is the default sweep period for a TTL: a quarter of it,
// between 10 ms and 1 min (so a game lives at most TTL + interval).
func SweepInterval(ttl time.Duration) time.Duration {
	iv := ttl / 4
	if iv < 10*time.Millisecond {
		iv = 10 * time.Millisecond
	}
	if iv > time.Minute {
		iv = time.Minute
	}
	return iv
}

// NewUUID returns a random (version 4, RFC 4122 variant) UUID string.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
