// Command tlsserver serves the lab's osquery-shaped HTTPS routes on loopback,
// with pprof, /metrics and /healthz on a separate admin listener.
//
// Once both listeners are up it prints one stdout line:
//
//	tlsserver listening on https://127.0.0.1:PORT admin http://127.0.0.1:PORT2 key KEY tickets on|off
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"perfkit.local/tlslab/internal/loopback"
	"perfkit.local/tlslab/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 after a clean stop, 2 on bad flags, 1 on failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tlsserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "HTTPS listen address (loopback only)")
	adminAddr := fs.String("admin-addr", "127.0.0.1:0", "admin (pprof, metrics) listen address (loopback only)")
	key := fs.String("key", "rsa2048", "key type: "+strings.Join(server.KeyTypes, "|"))
	tickets := fs.Bool("session-tickets", true, "allow TLS session resumption by tickets")
	certOut := fs.String("cert-out", "", "write the self-signed certificate (PEM, public part) to this path")
	work := fs.Int("work", server.DefaultWork, "sha256 rounds over 1 KiB per request (~0.6 µs each)")
	rht := fs.Duration("read-header-timeout", 10*time.Second, "http.Server ReadHeaderTimeout (also bounds the TLS handshake)")
	memRate := fs.Int("mem-profile-rate", 0, "runtime.MemProfileRate: bytes per sampled allocation (0: Go's default, 512 KiB)")
	countersOut := fs.String("counters-out", "", "append the counters and process CPU as JSON lines to this file")
	countersEvery := fs.Duration("counters-every", 100*time.Millisecond, "interval of -counters-out lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "tlsserver: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected arguments %q", fs.Args())
	}
	for _, a := range []string{*addr, *adminAddr} {
		if err := loopback.CheckAddr(a); err != nil {
			return fail(2, "refusing to listen: %v", err)
		}
	}
	if *work < 0 || *work > 1_000_000 {
		return fail(2, "-work %d out of range 0..1000000", *work)
	}
	srv, err := server.New(server.Config{Key: *key, SessionTickets: *tickets, Work: *work,
		ReadHeaderTimeout: *rht, ErrorLog: stderr})
	if err != nil {
		return fail(2, "%v", err)
	}
	if *certOut != "" {
		if err := os.WriteFile(*certOut, srv.CertPEM, 0o644); err != nil {
			return fail(1, "writing the certificate: %v", err)
		}
	}
	pub, err := server.Listen(*addr)
	if err != nil {
		return fail(1, "%v", err)
	}
	adm, err := server.Listen(*adminAddr)
	if err != nil {
		pub.Close()
		return fail(1, "%v", err)
	}
	if *memRate < 0 {
		return fail(2, "-mem-profile-rate must not be negative")
	}
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *countersEvery <= 0 {
		return fail(2, "-counters-every must be positive")
	}
	recorded := make(chan struct{})
	rctx, stopRecording := context.WithCancel(context.Background())
	defer stopRecording()
	if *countersOut != "" {
		f, err := os.OpenFile(*countersOut, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fail(1, "opening the counters file: %v", err)
		}
		go func() {
			defer close(recorded)
			defer f.Close()
			if err := srv.Metrics.RecordCounters(rctx, f, *countersEvery); err != nil {
				fmt.Fprintf(stderr, "tlsserver: counters file: %v\n", err)
			}
		}()
	} else {
		close(recorded)
	}
	errc := srv.Serve(pub, adm)
	state := "off"
	if *tickets {
		state = "on"
	}
	fmt.Fprintf(stdout, "tlsserver listening on https://%s admin http://%s key %s tickets %s\n",
		pub.Addr(), adm.Addr(), *key, state)
	code := 0
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintf(stderr, "tlsserver: %v\n", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(sctx) // past the bound, connections are closed
	stopRecording()
	<-recorded
	return code
}
