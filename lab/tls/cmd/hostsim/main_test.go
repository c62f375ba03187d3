package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"perfkit.local/tlslab/internal/server"
)

func TestRefusesBadFlags(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("not pem"), 0o644)
	for _, args := range [][]string{
		{"-url", "https://10.1.2.3:443", "-ca", ca},
		{"-url", "http://127.0.0.1:80", "-ca", ca},
		{"-url", "https://127.0.0.1:1", "-ca", ca},
		{"-url", "https://127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, errb.String())
		}
	}
}

func TestRunWritesReport(t *testing.T) {
	srv, err := server.New(server.Config{Key: "ecdsa-p256", SessionTickets: true, Work: 1, ReadHeaderTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := server.Listen("127.0.0.1:0")
	adm, _ := server.Listen("127.0.0.1:0")
	srv.Serve(pub, adm)
	defer srv.Shutdown(context.Background())
	dir := t.TempDir()
	ca, report := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "r.json")
	os.WriteFile(ca, srv.CertPEM, 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-url", "https://" + pub.Addr().String(), "-ca", ca, "-hosts", "3",
		"-interval", "200ms", "-duration", "700ms", "-mode", "resume", "-out", report}, &out, &errb)
	if code != 0 || !strings.HasPrefix(errb.String(), "hostsim: mode resume hosts 3") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var rep struct {
		Mode   string
		Totals map[string]int64
	}
	b, _ := os.ReadFile(report)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "resume" || rep.Totals["requests_ok"] == 0 || rep.Totals["handshakes_resumed"] == 0 {
		t.Errorf("report %s", b)
	}
}
