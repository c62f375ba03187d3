"""Measure what one TLS server signature costs on this machine, with the installed Go."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
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
	"time"
)

type result struct {
	Algorithm string  `json:"algorithm"`
	Bits      int     `json:"bits"`
	Signs     int     `json:"signs"`
	MsPerSign float64 `json:"ms_per_sign"`
}

func timeit(n int, f func()) float64 {
	f()
	start := time.Now()
	for i := 0; i < n; i++ {
		f()
	}
	return float64(time.Since(start).Nanoseconds()) / 1e6 / float64(n)
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
		ms := timeit(n, func() { _, _ = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], opts) })
		out = append(out, result{"RSA-PSS", b, n, ms})
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ms := timeit(n*10, func() { _, _ = ecdsa.SignASN1(rand.Reader, ec, digest[:]) })
	out = append(out, result{"ECDSA P-256", 256, n * 10, ms})
	json.NewEncoder(os.Stdout).Encode(out)
}
'''




def signature_costs(bits=(2048, 3072, 4096), signs: int = 40, *, go: str | os.PathLike | None = None,
                    timeout: float = 300) -> pd.DataFrame:
    """Milliseconds per TLS 1.3 server signature (RSA-PSS per key size, ECDSA P-256), one core.

    Measured with this machine's Go (see :func:`find_go`), so the absolute
    numbers describe this CPU and Go release; the ratios between key sizes
    carry over. Columns: algorithm, bits, signs, ms_per_sign; ``attrs["go_version"]``.
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
                          reference: tuple[str, int] = ("RSA-PSS", 2048)) -> pd.DataFrame:
    """A handshake's CPU against this machine's signatures (:func:`signature_costs`).

    Columns added: ``handshake_ratio`` (handshake ms / ms per sign) and
    ``cores_at_rate`` (the cores ``handshakes_per_s`` handshakes would take if
    a handshake's cost scaled from ``reference`` to this signature).
    Indexed by (algorithm, bits).
    """
    out = costs.set_index(["algorithm", "bits"]).copy()
    ref = float(out.loc[reference, "ms_per_sign"])
    out["handshake_ratio"] = handshake_ms / out["ms_per_sign"]
    out["cores_at_rate"] = handshakes_per_s * handshake_ms / 1e3 * out["ms_per_sign"] / ref
    return out
