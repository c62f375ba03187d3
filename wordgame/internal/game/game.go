// Package game holds the hangman rules of the wordgame server. It is pure:
// no I/O, no clocks, no locking (the store serialises access to a game).
package game

import (
	"errors"
	"fmt"
)

// MaxGuesses is the number of wrong guesses a new game allows.
const MaxGuesses = 6

// Status of a game after a guess.
type Status int

const (
	InProgress Status = iota
	Won
	Lost
)

func (s Status) String() string {
	switch s {
	case Won:
		return "won"
	case Lost:
		return "lost"
	default:
		return "in_progress"
	}
}

// ErrBadGuess is returned by ParseGuess for anything but exactly one ASCII letter.
var ErrBadGuess = errors.New("guess must be exactly one letter A-Z")

// Game is one game. The zero value is not usable; call New.
type Game struct {
	ID        string
	word      string // upper-case A-Z, never sent to clients
	current   []byte
	remaining int
}

// State is what a client sees: exactly the fields of the original's JSON.
type State struct {
	ID               string `json:"id"`
	Current          string `json:"current"`
	GuessesRemaining int    `json:"guesses_remaining"`
}

// New starts a game on word, which must be non-empty upper-case A-Z
// (dictionary words are normalised by ParseDictionary).
func New(id, word string) (*Game, error) {
	if !isWord(word) {
		return nil, fmt.Errorf("game: invalid word %q", word)
	}
	cur := make([]byte, len(word))
	for i := range cur {
		cur[i] = '_'
	}
	return &Game{ID: id, word: word, current: cur, remaining: MaxGuesses}, nil
}

// Word returns the secret word (for debug logging and tests only).
func (g *Game) Word() string { return g.word }

// State returns the client-visible state.
func (g *Game) State() State {
	return State{ID: g.ID, Current: string(g.current), GuessesRemaining: g.remaining}
}

// Status reports whether the game is won, lost or still running.
func (g *Game) Status() Status {
	if g.remaining <= 0 {
		return Lost
	}
	for _, c := range g.current {
		if c == '_' {
			return InProgress
		}
	}
	return Won
}

// Guess applies one upper-case letter (see ParseGuess). A letter present in the
// word reveals every position holding it and costs nothing, even when it was
// already revealed; an absent letter costs one guess, every time.
// It returns whether the letter was a hit and the status afterwards.
func (g *Game) Guess(letter byte) (hit bool, st Status) {
	for i := 0; i < len(g.word); i++ {
		if g.word[i] == letter {
			g.current[i] = letter
			hit = true
		}
	}
	if !hit {
		g.remaining--
	}
	return hit, g.Status()
}

// ParseGuess validates a client guess: exactly one ASCII letter, either case.
// It returns the upper-case letter.
func ParseGuess(s string) (byte, error) {
	if len(s) != 1 {
		return 0, ErrBadGuess
	}
	c := s[0]
	switch {
	case c >= 'A' && c <= 'Z':
		return c, nil
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A', nil
	}
	return 0, ErrBadGuess
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
