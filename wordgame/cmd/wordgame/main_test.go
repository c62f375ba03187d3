package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"perfkit.local/wordgame/internal/server"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigEnvFallbackAndFlagPrecedence(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil || c.addr != "127.0.0.1" || c.adminAddr != "127.0.0.1" || c.maxGames != 1_000_000 || c.port != "8080" || c.adminPort != "8081" || c.dict != "words.txt" ||
		c.ttl != 24*time.Hour || c.maxBody != 4096 || !c.metrics || c.logLevel != "info" || c.shutdownTimeout != 10*time.Second {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	e := env(map[string]string{"PORT": "9000", "ADMIN_PORT": "9001", "WORDGAME_DICT": "/d", "WORDGAME_GAME_TTL": "2s",
		"METRICS": "false", "LOG_LEVEL": "debug", "WORDGAME_MAX_BODY": "100", "WORDGAME_WRITE_TIMEOUT": "3s",
		"WORDGAME_ADDR": "0.0.0.0", "WORDGAME_ADMIN_ADDR": "127.0.0.2", "WORDGAME_MAX_GAMES": "7"})
	c, err = parseConfig(nil, e, io.Discard)
	if err != nil || c.addr != "0.0.0.0" || c.adminAddr != "127.0.0.2" || c.maxGames != 7 || c.port != "9000" || c.adminPort != "9001" || c.dict != "/d" || c.ttl != 2*time.Second ||
		c.metrics || c.logLevel != "debug" || c.maxBody != 100 || c.timeouts.Write != 3*time.Second {
		t.Fatalf("env: %+v %v", c, err)
	}
	c, err = parseConfig([]string{"-port", "0", "-metrics=true", "-game-ttl", "1m"}, e, io.Discard)
	if err != nil || c.port != "0" || !c.metrics || c.ttl != time.Minute {
		t.Fatalf("flags over env: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"-port", "x"}, {"-port", "70000"}, {"-game-ttl", "0s"}, {"-log-level", "loud"}, {"extra"}, {"-max-games", "0"}} {
		if _, err := parseConfig(bad, env(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseConfig(nil, env(map[string]string{"METRICS": "maybe"}), io.Discard); err == nil || !strings.Contains(err.Error(), "METRICS") {
		t.Errorf("bad env not reported: %v", err)
	}
}

func TestDictionaryStartupErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("123\n\n"), 0o644)
	for _, path := range []string{filepath.Join(dir, "missing.txt"), empty} {
		var out strings.Builder
		code := run(context.Background(), []string{"-dict", path, "-port", "0", "-admin-port", "0"}, env(nil), &out, nil)
		if code != 1 || !strings.Contains(out.String(), "startup failed") || !strings.Contains(out.String(), path) {
			t.Errorf("%s: exit %d, output %s", path, code, out.String())
		}
	}
}

func writeDict(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	out := &lockedWriter{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-dict", writeDict(t), "-port", "0", "-admin-port", "0", "-drain-delay", "0s"}, env(nil), out, ready)
	}()
	<-ready
	pub, adm := addrs(t, out.String())
	resp, err := http.Post("http://"+pub+"/new", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/new: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + adm + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %v %v", resp, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "wordgame_games_started_total 1") {
		t.Fatal("metrics not wired")
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "shutdown complete") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

// addrs reads public_addr and admin_addr from the JSON "listening" line.
func addrs(t *testing.T, logs string) (string, string) {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "listening" {
			pub, _ := m["public_addr"].(string)
			adm, _ := m["admin_addr"].(string)
			return pub, adm
		}
	}
	t.Fatalf("no listening line in %s", logs)
	return "", ""
}

type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// The real binary: SIGTERM while a request is in flight (its body is still
// arriving). The request completes with 200, new connections are refused,
// and the process exits 0 after logging "shutdown complete".
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-dict", writeDict(t), "-port", "0", "-admin-port", "0", "-drain-delay", "100ms")
	cmd.Env = append(os.Environ(), "PORT=", "ADMIN_PORT=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var pub string
	var all []string
	timeout := time.After(20 * time.Second)
	for pub == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("exited early: %s", all)
			}
			all = append(all, l)
			if strings.Contains(l, `"public_addr"`) {
				pub, _ = addrs(t, l)
			}
		case <-timeout:
			t.Fatalf("no listening line: %s", all)
		}
	}
	resp, err := http.Post("http://"+pub+"/new", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()

	body := fmt.Sprintf(`{"id":%q,"guess":"h"}`, g.ID)
	conn, err := net.Dial("tcp", pub)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /guess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:5])
	time.Sleep(100 * time.Millisecond) // the server has the headers: the request is in flight
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", pub, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn.Write([]byte(body[5:]))
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	rb, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || !strings.Contains(string(rb), `"current":"H____"`) {
		t.Fatalf("in-flight request: %d %s", r.StatusCode, rb)
	}
	for l := range lines {
		all = append(all, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, strings.Join(all, "\n"))
	}
	if !strings.Contains(strings.Join(all, "\n"), `"msg":"shutdown complete"`) {
		t.Fatalf("no shutdown complete line: %s", all)
	}
}

// The admin listener binds -admin-addr, apart from the public -addr: pprof
// and metrics are not on the public address.
func TestAdminAddrApart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *server.Server, 1)
	out := &lockedWriter{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-dict", writeDict(t), "-addr", "127.0.0.1", "-port", "0", "-admin-addr", "127.0.0.2",
			"-admin-port", "0", "-drain-delay", "0s"}, env(nil), out, ready)
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("exit %d: %s", code, out.String())
	}
	pub, adm := addrs(t, out.String())
	if !strings.HasPrefix(pub, "127.0.0.1:") || !strings.HasPrefix(adm, "127.0.0.2:") {
		t.Fatalf("public %s admin %s", pub, adm)
	}
	for _, p := range []string{"/debug/pprof/", "/metrics", "/readyz"} {
		resp, err := http.Get("http://" + pub + p)
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("public %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
		resp, err = http.Get("http://" + adm + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("admin %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	// The admin port is not open on the public address.
	_, port, _ := net.SplitHostPort(adm)
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second); err == nil {
		c.Close()
		t.Fatal("admin port also open on the public address")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wordgame-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "wordgame")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// startBinary runs the binary with args and returns its log lines as they come.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	cmd.Env = append(os.Environ(), "PORT=", "ADMIN_PORT=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

func waitLine(t *testing.T, lines <-chan string, substr string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("exited before logging %q", substr)
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q line", substr)
		}
	}
}

// A second SIGTERM/SIGINT during the drain exits at once, non-zero, logged.
func TestBinarySecondSignalForcesExit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd, lines := startBinary(t, "-dict", writeDict(t), "-port", "0", "-admin-port", "0", "-drain-delay", "1m")
		_, adm := addrs(t, waitLine(t, lines, `"public_addr"`))
		cmd.Process.Signal(sig)
		waitLine(t, lines, `"msg":"shutting down"`)
		resp, err := http.Get("http://" + adm + "/readyz")
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("readyz while draining: %v %v", resp, err)
		}
		resp.Body.Close()
		start := time.Now()
		cmd.Process.Signal(sig)
		l := waitLine(t, lines, "second signal")
		for range lines {
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != ExitForced || time.Since(start) > 5*time.Second {
			t.Fatalf("%v: exit %v after %v (%s)", sig, err, time.Since(start), l)
		}
	}
}

// Every startup error is printed once: a plain line before the logger
// exists (flags, environment), one JSON line after (dictionary, listen).
func TestStartupErrorsPrintedOnce(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	missing := filepath.Join(t.TempDir(), "missing.txt")
	for _, c := range []struct {
		args     []string
		env      map[string]string
		code     int
		json     bool
		contains string
	}{
		{[]string{"-nope"}, nil, 2, false, "-nope"},
		{[]string{"-port", "x"}, nil, 2, false, `"x"`},
		{nil, map[string]string{"WORDGAME_MAX_GAMES": "many"}, 2, false, "WORDGAME_MAX_GAMES"},
		{[]string{"-dict", missing, "-port", "0", "-admin-port", "0"}, nil, 1, true, missing},
		{[]string{"-dict", writeDict(t), "-port", port, "-admin-port", "0"}, nil, 1, true, port},
	} {
		var out strings.Builder
		code := run(context.Background(), c.args, env(c.env), &out, nil)
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.Contains(l, `"msg":"dictionary loaded"`) {
				lines = append(lines, l)
			}
		}
		var m map[string]any
		isJSON := len(lines) == 1 && json.Unmarshal([]byte(lines[0]), &m) == nil && m["msg"] == "startup failed"
		if code != c.code || len(lines) != 1 || isJSON != c.json || !strings.Contains(lines[0], c.contains) {
			t.Errorf("%v: exit %d, want %d, one line (JSON %v) with %q; got:\n%s", c.args, code, c.code, c.json,
				c.contains, out.String())
		}
	}
}
