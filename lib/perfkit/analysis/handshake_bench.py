"""Measure what one server-side TLS 1.3 handshake costs on this machine, with the installed Go, without a
profiler: full handshakes (one signature each) and resumed ones (none), per certificate key."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
from ..toolchain import find_go

# A replayed ClientHello (X25519 only) drives tls.Server over a loopback TCP connection (127.0.0.1);
# the fake client reads the server's flight and hangs up. The server runs on a locked OS thread whose
# own CPU time (getrusage RUSAGE_THREAD, Linux; the process's elsewhere) across Handshake is the
# server's handshake up to its Finished, its socket reads and writes included, without the accept, the
# fake client, the GC's background workers or the idle scheduler.
# A counting crypto.Signer proves which handshakes signed.
_PROGRAM = r'''
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// countingSigner counts the server's private-key operations.
type countingSigner struct {
	crypto.Signer
	n *atomic.Int64
}

func (s countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, d, o)
}

type result struct {
	Algorithm string  `json:"algorithm"`
	Bits      int     `json:"bits"`
	Kind      string  `json:"kind"`
	N         int     `json:"handshakes"`
	Ms        float64 `json:"ms_per_handshake"`
	Signs     float64 `json:"signs_per_handshake"`
}

func certificate(alg string, bits int, signs *atomic.Int64) tls.Certificate {
	var key crypto.Signer
	var err error
	if alg == "RSA" {
		key, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: countingSigner{key, signs}}
}

// capture records what a client writes first (its ClientHello), then ends the handshake.
type capture struct {
	net.Conn
	hello []byte
}

func (c *capture) Write(b []byte) (int, error) { c.hello = append(c.hello, b...); return len(b), nil }
func (c *capture) Read([]byte) (int, error)    { return 0, io.EOF }

func clientHello(cfg *tls.Config) []byte {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &capture{Conn: a}
	_ = tls.Client(c, cfg).Handshake()
	return c.hello
}

// serve runs one server handshake on a replayed ClientHello over a loopback TCP connection; the
// fake client reads the server's flight and hangs up, so the server's cost is everything up to its
// Finished, socket reads and writes included. It returns the server thread's CPU in Handshake alone.
func serve(ln net.Listener, cfg *tls.Config, hello []byte) time.Duration {
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(hello)
		buf := make([]byte, 64<<10)
		c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		}
	}()
	conn, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	t0 := cpu()
	_ = tls.Server(conn, cfg).Handshake()
	d := cpu() - t0
	conn.Close()
	return d
}

// rusageThread is Linux's RUSAGE_THREAD: the CPU of the calling OS thread only.
const rusageThread = 1

// cpu is the CPU time of this OS thread: main locks itself to it, so this is the server
// handshake's own CPU, not the fake client's nor the runtime's background work.
func cpu() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type bench struct {
	alg         string
	bits        int
	srv         *tls.Config
	signs       *atomic.Int64
	full, resum []byte
}

func setup(spec string) bench {
	alg, bits := "RSA", 0
	if spec == "ecdsa" {
		alg, bits = "ECDSA P-256", 256
	} else {
		bits, _ = strconv.Atoi(spec)
	}
	signs := new(atomic.Int64)
	srv := &tls.Config{Certificates: []tls.Certificate{certificate(alg, bits, signs)}, MinVersion: tls.VersionTLS13}
	cli := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519},
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	// one real handshake, so the cache holds a ticket for the resumed ClientHello
	a, b := net.Pipe()
	go func() {
		s := tls.Server(a, srv)
		if s.Handshake() == nil {
			io.Copy(io.Discard, s)
		}
		a.Close()
	}()
	c := tls.Client(b, cli)
	if err := c.Handshake(); err != nil {
		panic(err)
	}
	b.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	c.Read(make([]byte, 1)) // the ticket arrives after the handshake
	b.Close()
	return bench{alg, bits, srv, signs, clientHello(&tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
		CurvePreferences: []tls.CurveID{tls.X25519}}), clientHello(cli)}
}

func main() {
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
	n, _ := strconv.Atoi(os.Args[1])
	rounds, _ := strconv.Atoi(os.Args[2])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	var benches []bench
	for _, spec := range os.Args[3:] {
		benches = append(benches, setup(spec))
	}
	var out []result
	for r := 0; r < rounds; r++ { // interleaved: a slow moment of the machine hits every key alike
		for _, bn := range benches {
			for _, k := range []struct {
				kind  string
				hello []byte
			}{{"full", bn.full}, {"resumed", bn.resum}} {
				serve(ln, bn.srv, k.hello)
				bn.signs.Store(0)
				var d time.Duration
				for i := 0; i < n; i++ {
					d += serve(ln, bn.srv, k.hello)
				}
				out = append(out, result{bn.alg, bn.bits, k.kind, n, float64(d.Nanoseconds()) / 1e6 / float64(n),
					float64(bn.signs.Load()) / float64(n)})
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(errors.New("encode"))
	}
}
'''


def handshake_costs(bits=(2048, 3072, 4096), handshakes: int = 20, *, rounds: int = 5, ecdsa: bool = True,
                    go: str | os.PathLike | None = None, timeout: float = 300) -> pd.DataFrame:
    """CPU milliseconds per server TLS 1.3 handshake on this machine, one core: full and resumed, for
    RSA keys of ``bits`` and (``ecdsa``) ECDSA P-256; the median of ``rounds`` interleaved rounds of
    ``handshakes`` each.

    Adds to :func:`signature_costs` what the rest of the handshake costs: the key exchange, transcript
    hashing, certificate and record work and the socket reads and writes, i.e. what a CPU profile puts
    under ``crypto/tls.(*Conn).serverHandshake`` (not the TCP accept or background GC). Loopback only.
    Columns: algorithm, bits, kind (full or resumed), handshakes (per round), rounds, ms_per_handshake
    (median), ms_min, ms_max, signs_per_handshake (1 for full, 0 for resumed: counted by a wrapping
    signer, not assumed); ``attrs["go_version"]``.
    """
    if handshakes < 1 or rounds < 1:
        raise PerfkitError("handshake benchmark", f"handshakes and rounds must be at least 1 ({handshakes}, {rounds})")
    gobin = find_go(go)
    specs = [str(int(b)) for b in bits] + (["ecdsa"] if ecdsa else [])
    with tempfile.TemporaryDirectory(prefix="perfkit-handshake-") as tmp:
        Path(tmp, "go.mod").write_text("module perfkit.local/handshake\n\ngo 1.22\n")
        Path(tmp, "main.go").write_text(_PROGRAM)
        r = subprocess.run([gobin, "run", ".", str(handshakes), str(rounds), *specs], cwd=tmp, capture_output=True,
                           text=True, timeout=timeout)
    if r.returncode != 0:
        raise PerfkitError("handshake benchmark", f"go run failed: {r.stderr.strip()[-500:]}")
    raw = pd.DataFrame(json.loads(r.stdout))
    g = raw.groupby(["algorithm", "bits", "kind"], sort=False)
    df = g.agg(handshakes=("handshakes", "first"), rounds=("handshakes", "size"),
               ms_per_handshake=("ms_per_handshake", "median"), ms_min=("ms_per_handshake", "min"),
               ms_max=("ms_per_handshake", "max"), signs_per_handshake=("signs_per_handshake", "mean")).reset_index()
    df.attrs["go_version"] = subprocess.run([gobin, "version"], capture_output=True, text=True).stdout.strip()
    return df
