// Package store keeps games in process memory behind one mutex, bounds their
// number, and evicts games that stay idle longer than a TTL.
//
// Games sit in a doubly-linked list ordered by last use (least recently used
// at the front): a use moves a game to the back, and eviction pops expired
// games from the front in bounded batches, so no critical section grows with
// the number of games.
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

// ErrFull: the store holds MaxGames live games.
var ErrFull = errors.New("too many live games")

// FullError is returned by Create at capacity. It matches ErrFull.
type FullError struct {
	RetryAfter time.Duration // when the least recently used game expires, clamped to [MinRetry, MaxRetry]
}

func (e *FullError) Error() string        { return ErrFull.Error() }
func (e *FullError) Is(target error) bool { return target == ErrFull }

// Retry-After bounds: games also end (won, lost) at any time, so a client is
// never told to wait longer than MaxRetry even with a 24 h TTL.
const (
	MinRetry = time.Second
	MaxRetry = time.Minute
)

// DefaultBatch is the default number of games evicted per critical section.
const DefaultBatch = 512

// Options configure a Store. Zero values give the defaults.
type Options struct {
	TTL      time.Duration    // idle time after which a game is evicted; default 24h
	MaxGames int              // live games allowed; <= 0: no limit
	Batch    int              // games evicted per lock hold by EvictIdle; default DefaultBatch
	Now      func() time.Time // clock; default time.Now (tests inject a fake)
	OnEvict  func(n int)      // called (outside the lock) with the number of games evicted
	NewID    func() string    // game id generator; default random UUIDv4
}

type entry struct {
	g          *game.Game
	lastUsed   time.Time
	prev, next *entry
}

// Store is safe for concurrent use. Every operation on a game runs under the
// store lock, so a guess is atomic.
type Store struct {
	mu         sync.Mutex
	games      map[string]*entry
	head, tail *entry // head: least recently used
	opt        Options
	maxSection int // most games removed in one critical section (tests)
}

// DefaultTTL is the idle time after which a game is evicted.
const DefaultTTL = 24 * time.Hour

// New returns an empty store.
func New(opt Options) *Store {
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
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

// MaxGames returns the configured maximum (0: none).
func (s *Store) MaxGames() int { return max(s.opt.MaxGames, 0) }

func (s *Store) pushBack(e *entry) {
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
}

func (s *Store) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *Store) remove(e *entry) {
	s.unlink(e)
	delete(s.games, e.g.ID)
}

// evictFront removes up to limit expired games from the front; s.mu is held.
func (s *Store) evictFront(now time.Time, limit int) int {
	n := 0
	for n < limit && s.head != nil && now.Sub(s.head.lastUsed) >= s.opt.TTL {
		s.remove(s.head)
		n++
	}
	if n > s.maxSection {
		s.maxSection = n
	}
	return n
}

func (s *Store) notify(n int) {
	if n > 0 && s.opt.OnEvict != nil {
		s.opt.OnEvict(n)
	}
}

// Create starts a game on word and returns its initial state. At MaxGames it
// first evicts expired games (a bounded batch); if none expired it returns a
// *FullError.
func (s *Store) Create(word string) (game.State, error) {
	id := s.opt.NewID() // outside the lock: crypto/rand is a syscall
	g, err := game.New(id, word)
	if err != nil {
		return game.State{}, err
	}
	evicted := 0
	defer func() { s.notify(evicted) }()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.games[id] != nil { // practically never: 122 random bits
		id = s.opt.NewID()
		g.ID = id
	}
	now := s.opt.Now()
	if s.opt.MaxGames > 0 && len(s.games) >= s.opt.MaxGames {
		evicted = s.evictFront(now, s.opt.Batch)
		if len(s.games) >= s.opt.MaxGames {
			return game.State{}, &FullError{RetryAfter: s.retryAfter(now)}
		}
	}
	e := &entry{g: g, lastUsed: now}
	s.games[id] = e
	s.pushBack(e)
	return g.State(), nil
}

// retryAfter: time until the least recently used game expires; s.mu is held.
func (s *Store) retryAfter(now time.Time) time.Duration {
	d := MaxRetry
	if s.head != nil {
		d = s.opt.TTL - now.Sub(s.head.lastUsed)
	}
	return min(max(d, MinRetry), MaxRetry)
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
	defer func() { s.notify(evicted) }()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.games[id]
	if e == nil {
		return Result{}, ErrNotFound
	}
	now := s.opt.Now()
	if now.Sub(e.lastUsed) >= s.opt.TTL { // expired, the sweeper has not run yet
		s.remove(e)
		evicted = 1
		return Result{}, ErrNotFound
	}
	hit, st := e.g.Guess(letter)
	if st != game.InProgress {
		s.remove(e)
	} else {
		e.lastUsed = now
		s.unlink(e)
		s.pushBack(e)
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

// OldestIdle is the idle time of the least recently used game (0 when none).
func (s *Store) OldestIdle() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == nil {
		return 0
	}
	return max(s.opt.Now().Sub(s.head.lastUsed), 0)
}

// EvictIdle removes every game idle for at least the TTL and returns how
// many. It takes the lock once per batch of at most Options.Batch games.
func (s *Store) EvictIdle() int {
	total := 0
	for {
		s.mu.Lock()
		n := s.evictFront(s.opt.Now(), s.opt.Batch)
		s.mu.Unlock()
		total += n
		if n < s.opt.Batch {
			break
		}
		time.Sleep(50 * time.Microsecond) // let waiting requests take the lock between batches
	}
	s.notify(total)
	return total
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
