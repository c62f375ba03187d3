// Command loadgen is an open-model HTTP load generator: requests arrive at a constant rate whatever
// the server does, and each request's latency is measured from its intended send time, so a stall
// is charged to every request that should have gone out during it (no coordinated omission).
//
// Input is a JSON scenario of weighted request templates; value pools carry state between requests
// (capture a value from a response, take it in a later request, put it back when the response matches).
// Output: a summary JSON on stdout and, with -requests, one CSV row per arrival.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Template is one kind of request.
type Template struct {
	Name    string            `json:"name"`
	Weight  float64           `json:"weight"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
	Take    string            `json:"take"`     // pool to take {{value}} from
	PutBack string            `json:"put_back"` // regex: put the value back when the body matches
	Capture *Capture          `json:"capture"`
	putBack *regexp.Regexp
}

// Capture adds the first group of Regex in a 2xx response body to Pool.
type Capture struct {
	Pool  string `json:"pool"`
	Regex string `json:"regex"`
	re    *regexp.Regexp
}

// Scenario is the generator's input.
type Scenario struct {
	Name      string              `json:"name"`
	Templates []*Template         `json:"templates"`
	Lists     map[string][]string `json:"lists"` // {{pick:NAME}} takes a random element
	PoolMax   int                 `json:"pool_max"`
}

var placeholder = regexp.MustCompile(`\{\{(value|pick:[A-Za-z0-9_]+)\}\}`)

func loadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Scenario
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return &s, fmt.Errorf("not a scenario: %v", err)
	}
	if len(s.Templates) == 0 {
		return &s, fmt.Errorf("no templates")
	}
	if s.PoolMax <= 0 {
		s.PoolMax = 100000
	}
	captured := map[string]bool{}
	for _, t := range s.Templates {
		if t.Capture != nil {
			captured[t.Capture.Pool] = true
		}
	}
	free := 0.0
	for i, t := range s.Templates {
		if t.Name == "" {
			t.Name = fmt.Sprintf("template %d", i)
		}
		if t.Weight <= 0 {
			return &s, fmt.Errorf("template %q: weight must be > 0", t.Name)
		}
		if t.Method == "" {
			t.Method = "GET"
		}
		if !strings.HasPrefix(t.Path, "/") {
			return &s, fmt.Errorf("template %q: path must start with /", t.Name)
		}
		if t.Take != "" && !captured[t.Take] {
			return &s, fmt.Errorf("template %q: takes from pool %q that no template captures into", t.Name, t.Take)
		}
		if t.Take == "" {
			free += t.Weight
		}
		if t.PutBack != "" {
			if t.Take == "" {
				return &s, fmt.Errorf("template %q: put_back without take", t.Name)
			}
			re, err := regexp.Compile(t.PutBack)
			if err != nil {
				return &s, fmt.Errorf("template %q: put_back: %v", t.Name, err)
			}
			t.putBack = re
		}
		if t.Capture != nil {
			re, err := regexp.Compile(t.Capture.Regex)
			if err != nil {
				return &s, fmt.Errorf("template %q: capture regex: %v", t.Name, err)
			}
			if re.NumSubexp() < 1 {
				return &s, fmt.Errorf("template %q: capture regex needs a group", t.Name)
			}
			t.Capture.re = re
		}
		for _, m := range placeholder.FindAllStringSubmatch(t.Path+t.Body, -1) {
			if m[1] == "value" && t.Take == "" {
				return &s, fmt.Errorf("template %q: {{value}} without take", t.Name)
			}
			if strings.HasPrefix(m[1], "pick:") && len(s.Lists[m[1][5:]]) == 0 {
				return &s, fmt.Errorf("template %q: no list %q", t.Name, m[1][5:])
			}
		}
	}
	if free == 0 {
		return &s, fmt.Errorf("every template takes from a pool: nothing can start")
	}
	return &s, nil
}

// pools of captured values, FIFO.
type pools struct {
	mu  sync.Mutex
	m   map[string][]string
	max int
}

func (p *pools) put(name, v string) {
	p.mu.Lock()
	if len(p.m[name]) < p.max {
		p.m[name] = append(p.m[name], v)
	}
	p.mu.Unlock()
}

func (p *pools) take(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.m[name]
	if len(q) == 0 {
		return "", false
	}
	v := q[0]
	p.m[name] = q[1:]
	return v, true
}

// row is one arrival; times in ns since start.
type row struct {
	intended, dispatch, send, done int64
	status                         int
	tmpl                           int
	err                            string
}

func main() {
	target := flag.String("target", "", "base URL, http://127.0.0.1:PORT")
	scenario := flag.String("scenario", "", "scenario JSON file")
	rate := flag.Float64("rate", 100, "arrivals per second")
	duration := flag.Duration("duration", 5*time.Second, "how long arrivals are generated")
	maxInflight := flag.Int("max-inflight", 256, "requests (connections) on the wire at once; later arrivals queue")
	maxQueue := flag.Int("max-queue", 0, "arrivals waiting for a slot; past it they are dropped (0: rate x 1 s)")
	timeout := flag.Duration("timeout", 5*time.Second, "per request, from its intended time")
	hard := flag.Duration("hard-limit", 0, "absolute limit on the run (0: duration + timeout + 2 s)")
	reqOut := flag.String("requests", "", "write one CSV row per arrival here")
	seed := flag.Int64("seed", 1, "random seed (template choice, picks)")
	cpuprofile := flag.String("cpuprofile", "", "write the generator's own CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*target, *scenario, *rate, *duration, *maxInflight, *maxQueue, *timeout, *hard, *reqOut, *seed); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run(target, scenarioPath string, rate float64, duration time.Duration, maxInflight, maxQueue int,
	timeout, hard time.Duration, reqOut string, seed int64) error {
	sc, err := loadScenario(scenarioPath)
	if err != nil {
		name := scenarioPath
		if sc != nil && sc.Name != "" {
			name = sc.Name
		}
		return fmt.Errorf("scenario %q: %v", name, err)
	}
	if !strings.HasPrefix(target, "http://") {
		return fmt.Errorf("target %q: only http:// URLs", target)
	}
	target = strings.TrimRight(target, "/")
	if rate <= 0 || rate > 200000 {
		return fmt.Errorf("rate %g: must be in (0, 200000]", rate)
	}
	if duration <= 0 || duration > 10*time.Minute {
		return fmt.Errorf("duration %v: must be in (0, 10m]", duration)
	}
	total := int(rate * duration.Seconds())
	if total > 5000000 {
		return fmt.Errorf("rate x duration = %d arrivals: at most 5000000", total)
	}
	if maxInflight < 1 || maxInflight > 20000 {
		return fmt.Errorf("max-inflight %d: must be in [1, 20000]", maxInflight)
	}
	if maxQueue <= 0 {
		maxQueue = int(rate) + 1
	}
	if hard <= 0 {
		hard = duration + timeout + 2*time.Second
	}
	tr := &http.Transport{MaxIdleConns: maxInflight, MaxIdleConnsPerHost: maxInflight, MaxConnsPerHost: maxInflight,
		IdleConnTimeout: 90 * time.Second, DialContext: (&net.Dialer{Timeout: timeout}).DialContext}
	client := &http.Client{Transport: tr}
	pl := &pools{m: map[string][]string{}, max: sc.PoolMax}
	rng := rand.New(rand.NewSource(seed))
	weights := make([]float64, len(sc.Templates))
	for i, t := range sc.Templates {
		weights[i] = t.Weight
	}
	rows := make([]row, total)
	// arrivals wait in queue for one of maxInflight workers (each keeps its own connection busy)
	queue := make(chan *row, maxQueue)
	var inflightMax, inflight int64
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(hard))
	defer cancel()
	interval := float64(time.Second) / rate

	fire := func(r *row) {
		t := sc.Templates[r.tmpl]
		value := ""
		if t.Take != "" {
			v, ok := pl.take(t.Take)
			if ok {
				value = v
			} else { // emptied since the arrival was scheduled: the first template that takes nothing
				for j, u := range sc.Templates {
					if u.Take == "" {
						r.tmpl, t = j, u
						break
					}
				}
			}
		}
		path, body := t.Path, t.Body
		if strings.Contains(path+body, "{{") {
			path, body = expand(path, value, sc, r), expand(body, value, sc, r)
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		rctx, rcancel := context.WithDeadline(ctx, start.Add(time.Duration(r.intended)+timeout))
		defer rcancel()
		req, err := http.NewRequestWithContext(rctx, t.Method, target+path, rd)
		if err != nil {
			r.err = "bad request: " + err.Error()
			return
		}
		for k, v := range t.Headers {
			req.Header.Set(k, v)
		}
		r.send = int64(time.Since(start))
		resp, err := client.Do(req)
		if err != nil {
			r.done = int64(time.Since(start))
			r.err = errKind(err, rctx)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.done = int64(time.Since(start))
		r.status = resp.StatusCode
		if err != nil {
			r.err = errKind(err, rctx)
			return
		}
		ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
		if t.Capture != nil && ok2xx {
			if m := t.Capture.re.FindSubmatch(b); m != nil {
				pl.put(t.Capture.Pool, string(m[1]))
			}
		}
		if t.putBack != nil && ok2xx && t.putBack.Match(b) {
			pl.put(t.Take, value)
		}
	}

	for w := 0; w < maxInflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range queue {
				if ctx.Err() != nil {
					r.err = "unfinished"
					continue
				}
				n := atomic.AddInt64(&inflight, 1)
				for m := atomic.LoadInt64(&inflightMax); n > m && !atomic.CompareAndSwapInt64(&inflightMax, m, n); {
					m = atomic.LoadInt64(&inflightMax)
				}
				fire(r)
				atomic.AddInt64(&inflight, -1)
			}
		}()
	}

	dropped := 0
	next := 0
	for next < total && ctx.Err() == nil {
		now := int64(time.Since(start))
		due := int(float64(now)/interval) + 1
		if due > total {
			due = total
		}
		for ; next < due; next++ {
			r := &rows[next]
			r.intended = int64(float64(next) * interval)
			r.dispatch = now
			r.tmpl = pick(rng, weights, sc, pl)
			select {
			case queue <- r:
			default: // max-queue arrivals already wait: this one is dropped, and counted
				r.err = "dropped"
				dropped++
			}
		}
		if next < total {
			sleep := time.Duration(float64(next)*interval) - time.Since(start)
			if sleep > 0 {
				time.Sleep(sleep)
			}
		}
	}
	for ; next < total; next++ {
		rows[next].intended = int64(float64(next) * interval)
		rows[next].err = "unfinished"
	}
	close(queue)
	wg.Wait()
	wall := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())

	if reqOut != "" {
		if err := writeRows(reqOut, rows, sc); err != nil {
			return err
		}
	}
	sum := summarize(rows, rate, duration, wall, cpu, dropped, inflightMax, maxInflight, maxQueue, sc.Name)
	return json.NewEncoder(os.Stdout).Encode(sum)
}

func expand(s, value string, sc *Scenario, r *row) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		k := m[2 : len(m)-2]
		if k == "value" {
			return value
		}
		l := sc.Lists[k[5:]]
		return l[rand.Intn(len(l))]
	})
}

// pick a template: weighted among all, but a template whose pool is empty gives way to one that takes nothing.
func pick(rng *rand.Rand, w []float64, sc *Scenario, pl *pools) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	x := rng.Float64() * sum
	i := 0
	for ; i < len(w)-1 && x >= w[i]; i++ {
		x -= w[i]
	}
	if t := sc.Templates[i]; t.Take != "" {
		pl.mu.Lock()
		n := len(pl.m[t.Take])
		pl.mu.Unlock()
		if n == 0 {
			var fsum float64
			for j, t := range sc.Templates {
				if t.Take == "" {
					fsum += w[j]
				}
			}
			x = rng.Float64() * fsum
			for j, t := range sc.Templates {
				if t.Take == "" {
					if x < w[j] {
						return j
					}
					x -= w[j]
					i = j
				}
			}
		}
	}
	return i
}

func errKind(err error, ctx context.Context) string {
	if ctx.Err() != nil {
		return "timeout"
	}
	s := err.Error()
	if strings.Contains(s, "connection refused") {
		return "connection refused"
	}
	if strings.Contains(s, "reset") || strings.Contains(s, "EOF") {
		return "connection reset"
	}
	return "error"
}

func writeRows(path string, rows []row, sc *Scenario) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &strings.Builder{}
	w.WriteString("intended_us,dispatch_us,send_us,done_us,status,template,error\n")
	for i := range rows {
		r := &rows[i]
		fmt.Fprintf(w, "%d,%d,%d,%d,%d,%s,%s\n", r.intended/1000, r.dispatch/1000, r.send/1000, r.done/1000,
			r.status, sc.Templates[r.tmpl].Name, r.err)
		if w.Len() > 1<<20 {
			if _, err := f.WriteString(w.String()); err != nil {
				f.Close()
				return err
			}
			w.Reset()
		}
	}
	if _, err := f.WriteString(w.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(xs)-1))
	return xs[i]
}

func summarize(rows []row, rate float64, duration, wall, cpu time.Duration, dropped int, inflightMax int64,
	maxInflight, maxQueue int, name string) map[string]any {
	var fromIntended, fromSend, lag []float64
	sent, ok, failed := 0, 0, 0
	errs := map[string]int{}
	for i := range rows {
		r := &rows[i]
		if r.err != "" {
			errs[r.err]++
		}
		if r.send == 0 && r.done == 0 {
			continue
		}
		sent++
		lag = append(lag, float64(r.send-r.intended)/1e6)
		if r.done > 0 {
			fromIntended = append(fromIntended, float64(r.done-r.intended)/1e6)
			fromSend = append(fromSend, float64(r.done-r.send)/1e6)
		}
		if r.err == "" && r.status < 500 {
			ok++
		} else {
			failed++
		}
	}
	for _, xs := range [][]float64{fromIntended, fromSend, lag} {
		sort.Float64s(xs)
	}
	q := func(xs []float64) map[string]float64 {
		m := map[string]float64{"p50_ms": pct(xs, 50), "p90_ms": pct(xs, 90), "p99_ms": pct(xs, 99),
			"p999_ms": pct(xs, 99.9), "max_ms": pct(xs, 100)}
		return m
	}
	return map[string]any{
		"scenario": name, "rate": rate, "duration_s": duration.Seconds(), "wall_s": wall.Seconds(),
		"arrivals": len(rows), "sent": sent, "ok": ok, "failed": failed, "dropped": dropped, "errors": errs,
		"max_inflight": maxInflight, "max_queue": maxQueue, "inflight_peak": inflightMax,
		"cpu_s": cpu.Seconds(), "cpu_per_s": cpu.Seconds() / wall.Seconds(),
		"latency_from_intended": q(fromIntended), "latency_from_send": q(fromSend), "send_lag": q(lag),
	}
}
