// Command hostsim runs N simulated osquery hosts against the lab server and
// writes a JSON report of its own ground truth, plus one stderr summary line.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"perfkit.local/tlslab/internal/hostsim"
	"perfkit.local/tlslab/internal/loopback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run returns 0 after a completed run (even with failed requests), 2 on bad
// flags, 1 when the report cannot be written.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hostsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "server base URL, https://127.0.0.1:PORT (loopback only)")
	caPath := fs.String("ca", "", "PEM file with the server's certificate (the chain is verified)")
	var cfg hostsim.Config
	fs.IntVar(&cfg.Hosts, "hosts", 100, "simulated hosts (1..20000)")
	fs.DurationVar(&cfg.Interval, "interval", 10*time.Second, "check-in interval")
	fs.Float64Var(&cfg.Jitter, "jitter", 0.1, "check-in jitter, a fraction of the interval")
	fs.DurationVar(&cfg.Ramp, "ramp", 0, "spread the hosts' first check-ins over this time (at least one interval)")
	fs.StringVar(&cfg.Mode, "mode", hostsim.KeepAlive, "keepalive|churn|resume")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", 0, "abandon a TLS handshake not done in this time (0 = off)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 5*time.Second, "per-request timeout (0 = off)")
	fs.IntVar(&cfg.Retries, "retries", 3, "retries of a failed request, after 100 ms × attempt (± 50 %)")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "run length (at most 10m)")
	fs.StringVar(&cfg.Curves, "curves", "x25519", "x25519 (offer only X25519) or default (Go's list)")
	fs.DurationVar(&cfg.Bucket, "bucket", 100*time.Millisecond, "timeline bucket")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed (phases, jitter)")
	out := fs.String("out", "-", `JSON report path ("-" = stdout)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "hostsim: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected arguments %q", fs.Args())
	}
	u, err := loopback.CheckURL(*rawURL)
	if err != nil {
		return fail(2, "refusing -url: %v", err)
	}
	cfg.URL = u
	if *caPath == "" {
		return fail(2, "-ca is required")
	}
	pemBytes, err := os.ReadFile(*caPath)
	if err != nil {
		return fail(2, "reading -ca: %v", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pemBytes) {
		return fail(2, "-ca %s: no PEM certificate found", *caPath)
	}
	rep, err := hostsim.Run(ctx, cfg)
	if err != nil {
		return fail(2, "%v", err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return fail(1, "%v", err)
	}
	b = append(b, '\n')
	if *out == "-" {
		_, err = stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		return fail(1, "writing the report: %v", err)
	}
	fmt.Fprintln(stderr, rep.SummaryLine())
	return 0
}
