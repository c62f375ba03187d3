// A deliberately defective wordgame server: a test fixture for perfkit's
// black-box suite. It reproduces, from the behaviour description in
// ../shared/wordgame-api.md, the defects of the exercise's original server:
//
//   - the game map has no lock (concurrent /new or /guess: "fatal error:
//     concurrent map writes", the process dies);
//   - handlers do not return after writing an error: bad JSON or an empty
//     guess panics (connection dropped, no response); a multi-letter guess
//     gets 400 and is still applied with its first byte; an unknown id gets
//     500 "load game: not found: <id>" followed by "null";
//   - no 405, plain-text errors, no body limit, no timeouts, no TTL.
//
// DO NOT use this as an example of anything. Standard library only.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"regexp"
	"strings"
)

type Game struct {
	ID               string `json:"id"`
	Current          string `json:"current"`
	GuessesRemaining int    `json:"guesses_remaining"`
	word             string
}

var (
	games = map[string]*Game{} // no lock: defect 1
	words []string
)

func uuid4() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randIndex(n int) int {
	var b [4]byte
	rand.Read(b[:])
	return int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) % n
}

func loadGame(id string) (*Game, error) {
	g, ok := games[id]
	if !ok {
		return nil, fmt.Errorf("not found: %s", id)
	}
	return g, nil
}

func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization")
}

func newHandler(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if r.Method == http.MethodOptions {
		return
	}
	// any other method creates a game: no 405 (defect 3)
	word := words[randIndex(len(words))]
	g := &Game{ID: uuid4(), Current: strings.Repeat("_", len(word)), GuessesRemaining: 6, word: word}
	games[g.ID] = g // unlocked write
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(g)
}

func guessHandler(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if r.Method == http.MethodOptions {
		return
	}
	var req struct {
		ID    string `json:"id"`
		Guess string `json:"guess"`
	}
	// no body limit (defect 4)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		// no return (defect 2)
	}
	if len(req.Guess) != 1 {
		http.Error(w, "guess must be a single letter", http.StatusBadRequest)
		// no return (defect 2)
	}
	letter := strings.ToUpper(req.Guess)[0] // panics on an empty guess
	g, err := loadGame(req.ID)
	if err != nil {
		http.Error(w, "load game: "+err.Error(), http.StatusInternalServerError)
		// no return (defect 2)
	}
	if g != nil {
		cur := []byte(g.Current)
		hit := false
		for i := 0; i < len(g.word); i++ {
			if g.word[i] == letter {
				cur[i] = letter
				hit = true
			}
		}
		g.Current = string(cur)
		if !hit {
			g.GuessesRemaining--
		}
		games[g.ID] = g // unlocked write
		if !strings.Contains(g.Current, "_") || g.GuessesRemaining <= 0 {
			delete(games, g.ID) // unlocked write
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(g) // "null" for an unknown id
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		log.Fatal("PORT is not set")
	}
	addr := os.Getenv("ADDR") // fixture extension: loopback by default
	if addr == "" {
		addr = "127.0.0.1"
	}
	dict := "words.txt"
	if len(os.Args) > 1 {
		dict = os.Args[1]
	}
	f, err := os.Open(dict)
	if err != nil {
		log.Fatal(err)
	}
	valid := regexp.MustCompile(`^[A-Z]+$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.ToUpper(strings.TrimSpace(sc.Text()))
		if valid.MatchString(w) {
			words = append(words, w)
		}
	}
	f.Close()
	if len(words) == 0 {
		log.Fatal("no words")
	}
	log.Printf("serving %d words", len(words))
	http.HandleFunc("/new", newHandler)
	http.HandleFunc("/guess", guessHandler)
	log.Printf("listening on %s:%s", addr, port)
	// no timeouts (defect 4)
	log.Fatal(http.ListenAndServe(addr+":"+port, nil))
}
