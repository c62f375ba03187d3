package game

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mustNew(t *testing.T, word string) *Game {
	t.Helper()
	g, err := New("id", word)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func guess(t *testing.T, g *Game, s string) (bool, Status) {
	t.Helper()
	c, err := ParseGuess(s)
	if err != nil {
		t.Fatalf("ParseGuess(%q): %v", s, err)
	}
	return g.Guess(c)
}

func TestNewGame(t *testing.T) {
	g := mustNew(t, "HELLO")
	if got, want := g.State(), (State{ID: "id", Current: "_____", GuessesRemaining: 6}); got != want {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "hello", "HE LLO", "ÉTÉ"} {
		if _, err := New("id", bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestWin(t *testing.T) {
	g := mustNew(t, "HELLO")
	steps := []struct {
		letter  string
		hit     bool
		current string
		left    int
		status  Status
	}{
		{"l", true, "__LL_", 6, InProgress},
		{"z", false, "__LL_", 5, InProgress},
		{"H", true, "H_LL_", 5, InProgress},
		{"e", true, "HELL_", 5, InProgress},
		{"o", true, "HELLO", 5, Won},
	}
	for _, s := range steps {
		hit, st := guess(t, g, s.letter)
		if hit != s.hit || st != s.status || g.State().Current != s.current || g.State().GuessesRemaining != s.left {
			t.Fatalf("guess %s: hit=%v status=%v state=%+v; want %+v", s.letter, hit, st, g.State(), s)
		}
	}
}

func TestLoss(t *testing.T) {
	g := mustNew(t, "GO")
	for i, l := range "abcdef" {
		hit, st := guess(t, g, string(l))
		want := InProgress
		if i == 5 {
			want = Lost
		}
		if hit || st != want || g.State().GuessesRemaining != 5-i {
			t.Fatalf("miss %d: hit=%v st=%v %+v", i, hit, st, g.State())
		}
	}
	if g.State().Current != "__" {
		t.Fatalf("loss reveals nothing: %q", g.State().Current)
	}
}

func TestRepeatedHitIsFree(t *testing.T) {
	g := mustNew(t, "BANANA")
	for i := 0; i < 5; i++ {
		hit, st := guess(t, g, "a")
		if !hit || st != InProgress || g.State() != (State{"id", "_A_A_A", 6}) {
			t.Fatalf("repeat %d: %v %v %+v", i, hit, st, g.State())
		}
	}
}

func TestRepeatedMissCostsAgain(t *testing.T) {
	g := mustNew(t, "BANANA")
	guess(t, g, "z")
	guess(t, g, "Z")
	if got := g.State().GuessesRemaining; got != 4 {
		t.Fatalf("remaining %d, want 4", got)
	}
}

func TestCaseInsensitive(t *testing.T) {
	a, b := mustNew(t, "KERNEL"), mustNew(t, "KERNEL")
	for _, l := range "kernl" {
		guess(t, a, string(l))
		guess(t, b, strings.ToUpper(string(l)))
		if a.State() != b.State() {
			t.Fatalf("%+v != %+v", a.State(), b.State())
		}
	}
	if a.Status() != Won {
		t.Fatal("not won")
	}
}

func TestParseGuess(t *testing.T) {
	ok := map[string]byte{"a": 'A', "z": 'Z', "A": 'A', "Z": 'Z', "m": 'M'}
	for in, want := range ok {
		if got, err := ParseGuess(in); err != nil || got != want {
			t.Errorf("ParseGuess(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ab", "AB", "1", " ", "é", "_", "@", "[", "`", "{", "a ", "\x00", "ß"} {
		if _, err := ParseGuess(bad); !errors.Is(err, ErrBadGuess) {
			t.Errorf("ParseGuess(%q) accepted", bad)
		}
	}
}

func TestParseDictionary(t *testing.T) {
	in := "apple\n  Banana \r\n\nit's\nnaïve\nx1\nGO\nhello world\n\tcherry\t\n"
	got, err := ParseDictionary(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"APPLE", "BANANA", "GO", "CHERRY"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestLoadDictionaryErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDictionary(filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("123\nit's\n\n"), 0o644)
	if _, err := LoadDictionary(empty); !errors.Is(err, ErrEmptyDictionary) {
		t.Fatalf("empty dictionary: %v", err)
	}
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("go\n"), 0o644)
	if w, err := LoadDictionary(good); err != nil || len(w) != 1 || w[0] != "GO" {
		t.Fatalf("good: %v %v", w, err)
	}
}
