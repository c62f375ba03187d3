"""Measure what one TLS server signature costs on this machine, with the installed Go."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import OptionError, PerfkitError
from ..toolchain import find_go

_PROGRAM = r'''
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type result struct {
	Algorithm string  `json:"algorithm"`
	Bits      int     `json:"bits"`
	Signs     int     `json:"signs"`
	MsPerSign float64 `json:"ms_per_sign"`
	WallMs    float64 `json:"wall_ms_per_sign"`
}

// cpuNs is the process's user + system CPU time.
func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// timeit returns CPU and wall milliseconds per call.
func timeit(n int, f func()) (float64, float64) {
	f()
	start, c0 := time.Now(), cpuNs()
	for i := 0; i < n; i++ {
		f()
	}
	return float64(cpuNs()-c0) / 1e6 / float64(n), float64(time.Since(start).Nanoseconds()) / 1e6 / float64(n)
}

func main() {
	runtime.GOMAXPROCS(1)
	n, _ := strconv.Atoi(os.Args[1])
	digest := sha256.Sum256([]byte("perfkit"))
	var out []result
	for _, bits := range os.Args[2:] {
		b, _ := strconv.Atoi(bits)
		key, err := rsa.GenerateKey(rand.Reader, b)
		if err != nil {
			panic(err)
		}
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		ms, wall := timeit(n, func() { _, _ = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], opts) })
		out = append(out, result{"RSA-PSS", b, n, ms, wall})
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ms, wall := timeit(n*10, func() { _, _ = ecdsa.SignASN1(rand.Reader, ec, digest[:]) })
	out = append(out, result{"ECDSA P-256", 256, n * 10, ms, wall})
	json.NewEncoder(os.Stdout).Encode(out)
}
'''




def signature_costs(bits=(2048, 3072, 4096), signs: int = 40, *, go: str | os.PathLike | None = None,
                    timeout: float = 300) -> pd.DataFrame:
    """CPU milliseconds per TLS 1.3 server signature (RSA-PSS per key size, ECDSA P-256), one core.

    Measured with this machine's Go (see :func:`find_go`), so the absolute
    numbers describe this CPU and Go release; the ratios between key sizes
    carry over. ``ms_per_sign`` is process CPU time (getrusage: comparable with a CPU profile's
    handshake CPU even on a busy host; includes the benchmark's own GC); ``wall_ms_per_sign`` is
    elapsed time, larger when other work shares the cores. RSA signs ``signs`` times, ECDSA ten times as often.
    Columns: algorithm, bits, signs, ms_per_sign, wall_ms_per_sign; ``attrs["go_version"]``.
    Unix only (getrusage).
    """
    gobin = find_go(go)
    with tempfile.TemporaryDirectory(prefix="perfkit-sign-") as tmp:
        Path(tmp, "go.mod").write_text("module perfkit.local/sign\n\ngo 1.21\n")
        Path(tmp, "main.go").write_text(_PROGRAM)
        r = subprocess.run([gobin, "run", ".", str(signs), *map(str, bits)], cwd=tmp,
                           capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise PerfkitError("signature benchmark", f"go run failed: {r.stderr.strip()[-500:]}")
    df = pd.DataFrame(json.loads(r.stdout))
    ver = subprocess.run([gobin, "version"], capture_output=True, text=True).stdout.strip()
    df.attrs["go_version"] = ver
    return df


def compare_to_signatures(handshake_ms: float, costs: pd.DataFrame, *, handshakes_per_s: float = 0.0,
                          reference: tuple[str, int] = ("RSA-PSS", 2048),
                          overhead_ms: float | None = None) -> pd.DataFrame:
    """A handshake's CPU against this machine's signatures (:func:`signature_costs`).

    Columns added: ``handshake_ratio`` (handshake ms / ms per sign) and
    ``cores_at_rate`` (the cores ``handshakes_per_s`` handshakes would take if
    a handshake's cost scaled from ``reference`` to this signature).
    With ``overhead_ms`` (the handshake's CPU outside its signature, e.g.
    ``HandshakeCost.ms - HandshakeCost.signature_ms``: key exchange, hashing, records), a
    handshake is modelled as overhead + one signature instead: ``handshake_ms_est`` and
    ``cores_at_rate`` use that, which matters when the signature is cheap (ECDSA) and
    the key exchange (X25519MLKEM768 on Go 1.24+) is most of the handshake.
    Indexed by (algorithm, bits).
    """
    out = costs.set_index(["algorithm", "bits"]).copy()
    if reference not in out.index:
        raise OptionError("compare_to_signatures", f"reference {reference} is not among the measured signatures")
    ref = float(out.loc[reference, "ms_per_sign"])
    out["handshake_ratio"] = handshake_ms / out["ms_per_sign"]
    if overhead_ms is None:
        out["cores_at_rate"] = handshakes_per_s * handshake_ms / 1e3 * out["ms_per_sign"] / ref
    else:
        out["handshake_ms_est"] = overhead_ms + out["ms_per_sign"]
        out["cores_at_rate"] = handshakes_per_s * out["handshake_ms_est"] / 1e3
    return out
