// Command countv1 prints event counts (name count, one per line) of a pre-1.22
// trace as Go's own parser sees them. It is built by tests/trace_oracle.py in a
// temporary module together with an unmodified copy of the Go toolchain's
// $GOROOT/src/internal/trace/internal/tracev1 (an internal package, hence the
// copy; only its import of internal/trace/version is redirected to ./version).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"countv1/tracev1"
	"countv1/version"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	r := bufio.NewReader(f)
	hdr := make([]byte, 16)
	if _, err := r.Read(hdr); err != nil {
		panic(err)
	}
	s := strings.TrimRight(string(hdr), "\x00")
	s = strings.TrimSuffix(strings.TrimPrefix(s, "go 1."), " trace")
	minor, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	tr, err := tracev1.Parse(r, version.Version(minor))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	counts := map[string]int{}
	for ev := range tr.Events.All() {
		counts[tracev1.EventDescriptions[ev.Type].Name]++
	}
	for k, v := range counts {
		fmt.Printf("%s %d\n", k, v)
	}
}
