package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{{"-addr", "0.0.0.0:0"}, {"-admin-addr", ":0"}, {"-addr", "192.0.2.1:443"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if lines := strings.Count(errb.String(), "\n"); lines != 1 || !strings.Contains(errb.String(), "loopback") {
			t.Errorf("%v: stderr %q, want one line about loopback", args, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-key", "rsa1024"}, &out, &errb); code != 2 {
		t.Errorf("bad key: exit %d, want 2", code)
	}
}

func TestStartsPrintsLineAndStops(t *testing.T) {
	certPath := filepath.Join(t.TempDir(), "cert.pem")
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &lockedBuf{}, &lockedBuf{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-key", "ecdsa-p256", "-session-tickets=false", "-cert-out", certPath}, out, errb)
	}()
	line := regexp.MustCompile(`^tlsserver listening on https://127\.0\.0\.1:(\d+) admin http://(127\.0\.0\.1:\d+) key ecdsa-p256 tickets off\n$`)
	deadline := time.Now().Add(5 * time.Second)
	var m []string
	for m == nil && time.Now().Before(deadline) {
		m = line.FindStringSubmatch(out.String())
		time.Sleep(10 * time.Millisecond)
	}
	if m == nil {
		cancel()
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}
	resp, err := http.Get("http://" + m[2] + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + m[2] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `tlslab_info{key="ecdsa-p256",tickets="off"} 1`) {
		t.Errorf("metrics: %s", body)
	}
	pemBytes, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, rest := pem.Decode(pemBytes)
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("cert-out holds more than one certificate: %q", pemBytes)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after the stop, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5s of the stop")
	}
}
