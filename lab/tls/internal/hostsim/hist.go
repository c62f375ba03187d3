package hostsim

import (
	"math"
	"sync/atomic"
	"time"
)

// hist is a lock-free log-bucketed latency histogram: 1 % wide buckets from
// 1 µs, so quantiles are within 1 % with bounded memory at any request count.
type hist struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	maxNs  atomic.Int64
}

const (
	histBuckets = 2200 // 1 µs × 1.01^2200 ≈ 3 h
	histGrowth  = 1.01
)

func (h *hist) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = int(math.Log(us) / math.Log(histGrowth))
	}
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.counts[i].Add(1)
	h.n.Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the q-quantile in ms (the bucket's geometric middle).
func (h *hist) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := math.Pow(histGrowth, float64(i)+0.5) / 1000
			return math.Min(v, float64(h.maxNs.Load())/1e6)
		}
	}
	return float64(h.maxNs.Load()) / 1e6
}

// Summary is the latency block of the report.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func (h *hist) summary() Summary {
	r := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	return Summary{Count: h.n.Load(), P50: r(h.quantile(0.5)), P90: r(h.quantile(0.9)),
		P99: r(h.quantile(0.99)), Max: r(float64(h.maxNs.Load()) / 1e6)}
}
