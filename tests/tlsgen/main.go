// Command tlsgen runs a Go TLS server and its own clients on 127.0.0.1, writes a CPU
// profile and a runtime trace of one window, then an allocs profile, and prints the
// ground truth it counted itself (connections, handshakes full/resumed, requests) as JSON.
//
// Bounded: it exits after -warmup + -window (+ a short drain).
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	key       = flag.String("key", "rsa2048", "rsa2048 | rsa3072 | rsa4096 | ecdsa256")
	connMode  = flag.String("conn", "churn", "churn | resume | keepalive")
	workers   = flag.Int("workers", 4, "client goroutines making requests")
	abandon   = flag.Int("abandon", 0, "client goroutines that send a ClientHello and hang up")
	pause     = flag.Duration("pause", 0, "pause between a client's requests")
	warmup    = flag.Duration("warmup", 500*time.Millisecond, "load before the window")
	window    = flag.Duration("window", 2*time.Second, "CPU profile and trace window")
	memRate   = flag.Int("memprofilerate", 0, "runtime.MemProfileRate (0: Go's default)")
	out       = flag.String("out", ".", "directory for cpu.pb.gz, trace.out, allocs.pb.gz")
	tls12     = flag.Bool("tls12", false, "cap the server at TLS 1.2")
	noTickets = flag.Bool("no-tickets", false, "server: SessionTicketsDisabled")
)

type counters struct {
	accepted, active, full, resumed, requests, hsErrors, abandoned atomic.Int64
}

func (c *counters) snap() map[string]int64 {
	return map[string]int64{"accepted": c.accepted.Load(), "handshakes_full": c.full.Load(),
		"handshakes_resumed": c.resumed.Load(), "connections_served": c.active.Load(), "requests": c.requests.Load(),
		"handshake_errors": c.hsErrors.Load(), "abandoned": c.abandoned.Load()}
}

func certificate(kind string) (tls.Certificate, *x509.CertPool) {
	var priv crypto.Signer
	var err error
	switch kind {
	case "rsa2048", "rsa3072", "rsa4096":
		bits := map[string]int{"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}[kind]
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	case "ecdsa256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unknown -key %q", kind)
	}
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		log.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, pool
}

// errorCounter counts the server's "TLS handshake error" log lines.
type errorCounter struct{ c *counters }

func (e errorCounter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "TLS handshake error") {
		e.c.hsErrors.Add(1)
	}
	return len(p), nil
}

// hangUp closes the connection right after the client's first write (the ClientHello).
type hangUp struct{ net.Conn }

func (h hangUp) Write(p []byte) (int, error) {
	n, err := h.Conn.Write(p)
	h.Conn.Close()
	return n, err
}

var seen = map[*tls.Conn]bool{}
var seenMu sync.Mutex

// served reports whether the connection already served a request (and marks it).
func served(tc *tls.Conn) bool {
	seenMu.Lock()
	defer seenMu.Unlock()
	was := seen[tc]
	seen[tc] = true
	return was
}

func serve(c *counters) (string, *x509.CertPool) {
	cert, pool := certificate(*key)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: *noTickets,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.DidResume {
				c.resumed.Add(1)
			} else {
				c.full.Add(1)
			}
			return nil
		}}
	if *tls12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /config", func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "interval": 10})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: cfg, ErrorLog: log.New(errorCounter{c}, "", 0),
		ConnState: func(nc net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				c.accepted.Add(1)
			case http.StateActive:
				if tc, ok := nc.(*tls.Conn); ok && !served(tc) {
					c.active.Add(1)
				}
			}
		}}
	go srv.ServeTLS(ln, "", "")
	return ln.Addr().String(), pool
}

func client(addr string, pool *x509.CertPool, c *counters, stop <-chan struct{}) {
	tc := &tls.Config{RootCAs: pool}
	tr := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: *workers}
	switch *connMode {
	case "churn":
		tr.DisableKeepAlives = true
	case "resume":
		tr.DisableKeepAlives = true
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	case "keepalive":
	default:
		log.Fatalf("unknown -conn %q", *connMode)
	}
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		resp, err := cl.Post("https://"+addr+"/config", "application/json", strings.NewReader(`{"node_key":"k"}`))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else {
			time.Sleep(10 * time.Millisecond)
		}
		if *pause > 0 {
			time.Sleep(*pause)
		}
	}
}

func abandoner(addr string, c *counters, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		conn := tls.Client(hangUp{raw}, &tls.Config{InsecureSkipVerify: true})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.HandshakeContext(ctx)
		cancel()
		raw.Close()
		c.abandoned.Add(1)
		if *pause > 0 {
			time.Sleep(*pause)
		}
	}
}

func write(name string, f func(io.Writer) error) {
	fh, err := os.Create(filepath.Join(*out, name))
	if err != nil {
		log.Fatal(err)
	}
	if err := f(fh); err != nil {
		log.Fatal(err)
	}
	fh.Close()
}

func main() {
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	c := &counters{}
	addr, pool := serve(c)
	stop := make(chan struct{})
	for i := 0; i < *workers; i++ {
		go client(addr, pool, c, stop)
	}
	for i := 0; i < *abandon; i++ {
		go abandoner(addr, c, stop)
	}
	time.Sleep(*warmup)
	cpuF, _ := os.Create(filepath.Join(*out, "cpu.pb.gz"))
	trF, _ := os.Create(filepath.Join(*out, "trace.out"))
	// "window" counts inside the trace, "outer" around the trace and the CPU profile: a trace's
	// events fall between the two (Start and Stop take a while on a saturated process)
	outerBefore := c.snap()
	t1 := time.Now()
	pprof.StartCPUProfile(cpuF)
	trace.Start(trF)
	before := c.snap()
	t0 := time.Now()
	time.Sleep(*window)
	after := c.snap()
	secs := time.Since(t0).Seconds()
	trace.Stop()
	pprof.StopCPUProfile()
	outerAfter := c.snap()
	outerSecs := time.Since(t1).Seconds()
	cpuF.Close()
	trF.Close()
	close(stop)
	// let in-flight requests finish, then a GC so the allocs profile covers everything counted
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.GC()
	write("allocs.pb.gz", func(w io.Writer) error { return pprof.Lookup("allocs").WriteTo(w, 0) })
	total := c.snap()
	win, outer := map[string]int64{}, map[string]int64{}
	for k, v := range after {
		win[k] = v - before[k]
		outer[k] = outerAfter[k] - outerBefore[k]
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"key": *key, "conn": *connMode, "window_s": secs,
		"window": win, "outer": outer, "outer_s": outerSecs, "total": total, "go": runtime.Version(), "memprofilerate": runtime.MemProfileRate})
}
