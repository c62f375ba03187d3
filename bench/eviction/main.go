// Command evictbench measures how long Create/Guess calls wait while one
// sweep evicts many expired games. bench/bench_eviction.py copies it into a
// temporary copy of the wordgame module (cmd/evictbench), once with the
// current internal/store and once with the old one, and runs both.
//
// It fills a store with -expired games, then -live games half a TTL later,
// moves a fake clock past the TTL of the first ones, and starts -workers
// goroutines calling Create and Guess in a loop; after -lead it runs one
// EvictIdle, then, as a control, burns CPU without the lock as long as the
// sweep took. It prints one JSON object: the sweep's duration and the latency
// of the calls that overlapped the sweep, the control, and neither.
package main

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"perfkit.local/wordgame/internal/store"
)

func main() {
	expired := flag.Int("expired", 1_000_000, "games expired when the sweep runs")
	live := flag.Int("live", 100_000, "games still live")
	workers := flag.Int("workers", 1, "goroutines calling Create/Guess (with the sweep: one per core)")
	noGC := flag.Bool("nogc", true, "no garbage collection while measuring")
	lead := flag.Duration("lead", 50*time.Millisecond, "load before and after the sweep")
	flag.Parse()

	const ttl = time.Hour
	base := time.Unix(1_000_000, 0)
	var offset atomic.Int64 // fake clock: base + offset
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	st := store.New(store.Options{TTL: ttl, Now: now})
	for i := 0; i < *expired; i++ {
		st.Create("HELLO")
	}
	offset.Store(int64(ttl / 2))
	ids := make([]string, *live)
	for i := range ids {
		g, _ := st.Create("HELLO")
		ids[i] = g.ID
	}
	offset.Store(int64(ttl)) // the first games are now exactly TTL idle: expired
	runtime.GC()
	if *noGC {
		debug.SetGCPercent(-1) // the sweep's pauses, not the collector's
	}

	type op struct{ start, end int64 } // ns since t0
	t0 := time.Now()
	var stop atomic.Bool
	res := make([][]op, *workers)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			ops := make([]op, 0, 1<<16)
			for i := 0; !stop.Load() && i < 50_000_000; i++ {
				s := time.Since(t0)
				if i%2 == 0 {
					st.Create("HELLO")
				} else {
					st.Guess(ids[r.IntN(len(ids))], byte('A'+r.IntN(26)))
				}
				ops = append(ops, op{int64(s), int64(time.Since(t0))})
			}
			res[w] = ops
		}(w)
	}
	time.Sleep(*lead)
	sweepStart := time.Since(t0)
	n := st.EvictIdle()
	sweepEnd := time.Since(t0)
	time.Sleep(*lead)
	// control: a goroutine that only burns CPU (no lock) as long as the sweep
	// took, so the machine's own CPU contention shows apart from lock waits
	burnStart := time.Since(t0)
	for x := uint64(1); time.Since(t0) < burnStart+(sweepEnd-sweepStart); x = x*6364136223846793005 + 1 {
	}
	burnEnd := time.Since(t0)
	time.Sleep(*lead)
	stop.Store(true)
	wg.Wait()

	var lat, burn, outside []float64 // µs: calls overlapping the sweep, the burn control, neither
	for _, ops := range res {
		for _, o := range ops {
			l := float64(o.end-o.start) / 1e3
			switch {
			case o.start <= int64(sweepEnd) && o.end >= int64(sweepStart):
				lat = append(lat, l)
			case o.start <= int64(burnEnd) && o.end >= int64(burnStart):
				burn = append(burn, l)
			default:
				outside = append(outside, l)
			}
		}
	}
	out := map[string]any{"evicted": n, "sweep_ms": float64(sweepEnd-sweepStart) / 1e6,
		"gomaxprocs": runtime.GOMAXPROCS(0), "workers": *workers}
	for name, v := range map[string][]float64{"sweep": lat, "burn": burn, "outside": outside} {
		slices.Sort(v)
		q := func(p float64) float64 {
			if len(v) == 0 {
				return 0
			}
			return v[min(len(v)-1, int(p*float64(len(v))))]
		}
		over := 0
		for _, l := range v {
			if l > 1000 {
				over++
			}
		}
		out[name] = map[string]any{"ops": len(v), "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999),
			"max_us": q(1), "over_1ms": over}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
