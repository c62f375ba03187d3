// Command pathologies runs one known performance pathology on loopback, with
// net/http/pprof on an admin port, so the tests can collect a debug archive from
// it and check that perfkit's triage names the mechanism.
//
// It prints one JSON line on start ({"admin": "127.0.0.1:PORT", "url": ...}),
// drives its own workload from goroutines in the same process (nothing external,
// all traffic to 127.0.0.1) and exits by itself after -duration.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	mode     = flag.String("mode", "healthy", "lock | gc | leak | syscall | tls-churn | starved | healthy")
	duration = flag.Duration("duration", 60*time.Second, "exit after this long")
	workers  = flag.Int("workers", 0, "load goroutines (0: the mode's default)")
	rsaBits  = flag.Int("rsa-bits", 2048, "tls-churn: RSA key size of the server certificate")
)

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	return ln
}

func serveAdmin() string {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln := listen()
	go http.Serve(ln, mux)
	return ln.Addr().String()
}

func n(def int) int {
	if *workers > 0 {
		return *workers
	}
	return def
}

// ---- lock: many goroutines on one sync.Mutex ----------------------------

type ledger struct {
	mu      sync.Mutex
	entries map[int]int
	sum     [32]byte
}

func (l *ledger) record(k int) {
	l.mu.Lock()
	l.entries[k%1024]++
	// a little work under the lock, so the critical section is not free
	l.sum = sha256.Sum256(l.sum[:])
	l.mu.Unlock()
}

func runLock() {
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	l := &ledger{entries: map[int]int{}}
	for i := 0; i < n(64); i++ {
		go func(i int) {
			for k := i; ; k++ {
				l.record(k)
			}
		}(i)
	}
}

// ---- gc: short-lived pointer-rich objects, low GOGC -----------------------

type node struct {
	next  *node
	left  *node
	key   int
	label string
	pad   [4]int64
}

var live atomic.Pointer[[]*node]

func buildList(k, length int) *node {
	var head *node
	for j := 0; j < length; j++ {
		head = &node{next: head, left: head, key: k + j, label: fmt.Sprint(k + j)}
	}
	return head
}

func runGC() {
	debug.SetGCPercent(20)
	// a live heap that the mark phase must walk every cycle
	keep := make([]*node, 4096)
	for i := range keep {
		keep[i] = buildList(i, 16)
	}
	live.Store(&keep)
	for i := 0; i < n(4); i++ {
		go func(i int) {
			var sink *node
			for k := i; ; k++ {
				sink = buildList(k, 64) // garbage right away
				if k%64 == 0 {
					s := *live.Load()
					s[k%len(s)] = sink // a few survive, replacing old ones
				}
			}
		}(i)
	}
}

// ---- leak: goroutines waiting forever on a channel nobody writes ----------

type request struct{ reply chan int }

func waitForReply(r *request) {
	<-r.reply // nobody ever sends: this goroutine never ends
}

func runLeak() {
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for range t.C {
			for j := 0; j < 2; j++ { // about 2000 goroutines per second
				go waitForReply(&request{reply: make(chan int)})
			}
		}
	}()
}

// ---- syscall: tiny writes to /dev/null and getpid -------------------------

func runSyscall() {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	b := []byte{'x'}
	for i := 0; i < n(4); i++ {
		go func(i int) {
			for k := 0; ; k++ {
				if i%2 == 0 {
					f.Write(b)
				} else {
					syscall.Getppid() // a raw syscall: the scheduler never sees it
				}
				if k%256 == 0 {
					runtime.Gosched() // let the admin server answer the collector
				}
			}
		}(i)
	}
}

// ---- tls-churn: one new TLS connection per request -----------------------

func certificate(bits int) (tls.Certificate, *x509.CertPool) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "path": r.URL.Path})
}

func drive(client *http.Client, url string, pause time.Duration) {
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if pause > 0 {
			time.Sleep(pause)
		} else if err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func runTLSChurn() string {
	cert, pool := certificate(*rsaBits)
	ln := listen()
	srv := &http.Server{Handler: http.HandlerFunc(hello),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true}}
	go srv.ServeTLS(ln, "", "")
	url := "https://" + ln.Addr().String() + "/"
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool}}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := 0; i < n(8); i++ {
		go drive(client, url, 0)
	}
	return url
}

// ---- starved: one CPU-bound goroutine per P ------------------------------
// The harness runs it with GOMAXPROCS above the CPUs it may use (taskset), so
// the Ps hold running goroutines whose threads wait for the kernel.

var spinSink atomic.Uint64

func runStarved() {
	for i := 0; i < n(runtime.GOMAXPROCS(0)); i++ {
		go func(seed uint64) {
			x := seed | 1
			for {
				for j := 0; j < 1<<16; j++ { // xorshift: pure CPU, no allocation, no syscall
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
				}
				spinSink.Add(x & 1)
			}
		}(uint64(i))
	}
}

// ---- healthy: keep-alive clients at a light rate --------------------------

func runHealthy() string {
	ln := listen()
	go http.Serve(ln, http.HandlerFunc(hello))
	url := "http://" + ln.Addr().String() + "/"
	// one idle connection kept per client goroutine (the default keeps 2 per host, so more clients would churn)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n(4)}}
	for i := 0; i < n(4); i++ {
		go drive(client, url, 50*time.Millisecond) // about 20 requests per second each
	}
	return url
}

func main() {
	flag.Parse()
	url := ""
	switch *mode {
	case "lock":
		runLock()
	case "gc":
		runGC()
	case "leak":
		runLeak()
	case "syscall":
		runSyscall()
	case "tls-churn":
		url = runTLSChurn()
	case "starved":
		runStarved()
	case "healthy":
		url = runHealthy()
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	admin := serveAdmin()
	line, _ := json.Marshal(map[string]string{"mode": *mode, "admin": admin, "url": url})
	fmt.Println(string(line))
	time.Sleep(*duration)
}
