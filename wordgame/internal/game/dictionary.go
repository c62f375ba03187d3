package game

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ParseDictionary reads one word per line with the original's normalisation:
// trimmed (strings.TrimSpace), upper-cased (strings.ToUpper), kept only if it
// then matches ^[A-Z]+$. Duplicates are kept, as in the original, so the
// secret is uniform over lines, not over distinct words.
func ParseDictionary(r io.Reader) ([]string, error) {
	var words []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		w := strings.ToUpper(strings.TrimSpace(sc.Text()))
		if isWord(w) {
			words = append(words, w)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return words, nil
}

// ErrEmptyDictionary means the file holds no usable word.
var ErrEmptyDictionary = errors.New("dictionary holds no word matching ^[A-Z]+$ after trimming and upper-casing")

// LoadDictionary reads the dictionary file at path. A missing, unreadable or
// empty dictionary is an error naming the path.
func LoadDictionary(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	defer f.Close()
	words, err := ParseDictionary(f)
	if err != nil {
		return nil, fmt.Errorf("dictionary %s: %w", path, err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("dictionary %s: %w", path, ErrEmptyDictionary)
	}
	return words, nil
}
