// Command wordgame serves the hangman-style word game over HTTP.
//
// All logs are JSON lines on stderr. The startup line {"msg":"listening",
// "public_addr":"127.0.0.1:PORT","admin_addr":"127.0.0.1:PORT",...} gives
// the bound addresses (useful with -port 0 / -admin-port 0).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"perfkit.local/wordgame/internal/game"
	"perfkit.local/wordgame/internal/metrics"
	"perfkit.local/wordgame/internal/server"
	"perfkit.local/wordgame/internal/store"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		cancel() // first signal: drain
		sig := <-sigs
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("second signal: exiting now, without draining",
			"signal", sig.String())
		os.Exit(ExitForced)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil))
}

// ExitForced is the exit code after a second SIGTERM/SIGINT.
const ExitForced = 3

// DefaultMaxGames bounds memory: about 260 MB of games at ~260 B each.
const DefaultMaxGames = 1_000_000

type config struct {
	addr, port           string
	adminAddr, adminPort string
	dict                 string
	ttl, evictInterval   time.Duration
	maxGames             int
	maxBody              int64
	timeouts             server.Timeouts
	shutdownTimeout      time.Duration
	drainDelay           time.Duration
	logLevel             string
	metrics              bool
	version              bool
}

// envNames maps flag names to their environment fallbacks.
var envNames = map[string]string{
	"addr":                "WORDGAME_ADDR",
	"port":                "PORT",
	"admin-addr":          "WORDGAME_ADMIN_ADDR",
	"admin-port":          "ADMIN_PORT",
	"dict":                "WORDGAME_DICT",
	"game-ttl":            "WORDGAME_GAME_TTL",
	"evict-interval":      "WORDGAME_EVICT_INTERVAL",
	"max-games":           "WORDGAME_MAX_GAMES",
	"max-body":            "WORDGAME_MAX_BODY",
	"read-header-timeout": "WORDGAME_READ_HEADER_TIMEOUT",
	"read-timeout":        "WORDGAME_READ_TIMEOUT",
	"write-timeout":       "WORDGAME_WRITE_TIMEOUT",
	"idle-timeout":        "WORDGAME_IDLE_TIMEOUT",
	"admin-write-timeout": "WORDGAME_ADMIN_WRITE_TIMEOUT",
	"shutdown-timeout":    "WORDGAME_SHUTDOWN_TIMEOUT",
	"drain-delay":         "WORDGAME_DRAIN_DELAY",
	"log-level":           "LOG_LEVEL",
	"metrics":             "METRICS",
}

// parseConfig reads flags; a flag not given on the command line falls back to
// its environment variable, then to its default.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("wordgame", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed once, by run
	fs.StringVar(&c.addr, "addr", "127.0.0.1", "host/IP the public listener binds to")
	fs.StringVar(&c.adminAddr, "admin-addr", "127.0.0.1", "host/IP the admin listener binds to (keep /debug/pprof private)")
	fs.StringVar(&c.port, "port", "8080", "public API port (0: any free port)")
	fs.StringVar(&c.adminPort, "admin-port", "8081", "admin port: /metrics, /debug/pprof/, /healthz, /readyz (0: any free port)")
	fs.StringVar(&c.dict, "dict", "words.txt", "dictionary file, one word per line")
	fs.DurationVar(&c.ttl, "game-ttl", store.DefaultTTL, "evict games idle for this long")
	fs.DurationVar(&c.evictInterval, "evict-interval", 0, "how often to sweep idle games (0: TTL/4, between 10ms and 1m)")
	fs.IntVar(&c.maxGames, "max-games", DefaultMaxGames, "live games allowed; past it /new answers 503 with Retry-After")
	fs.Int64Var(&c.maxBody, "max-body", server.DefaultMaxBodyBytes, "request body limit in bytes (larger: 413)")
	d := server.DefaultTimeouts
	fs.DurationVar(&c.timeouts.ReadHeader, "read-header-timeout", d.ReadHeader, "time to read request headers")
	fs.DurationVar(&c.timeouts.Read, "read-timeout", d.Read, "time to read a whole request")
	fs.DurationVar(&c.timeouts.Write, "write-timeout", d.Write, "public listener: time to write a response after the request is read (the deadline is read-timeout + write-timeout from the headers)")
	fs.DurationVar(&c.timeouts.Idle, "idle-timeout", d.Idle, "keep-alive idle time")
	fs.DurationVar(&c.timeouts.AdminWrite, "admin-write-timeout", d.AdminWrite, "admin listener: time to write a response (pprof profiles)")
	fs.DurationVar(&c.drainDelay, "drain-delay", 5*time.Second, "on SIGTERM/SIGINT, keep serving this long with /readyz 503 and Connection: close before closing the listener (a second signal exits at once)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "after the drain delay, time allowed for in-flight requests")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (the secret word is logged at debug only)")
	fs.BoolVar(&c.metrics, "metrics", true, "record request and game metrics (false: no-op, to measure instrumentation overhead)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.Usage = func() {} // the flag package would print it on every error too
	usage := func() {
		fmt.Fprintln(out, "usage: wordgame [flags]   (each flag falls back to the environment variable in brackets)")
		fs.VisitAll(func(f *flag.Flag) {
			env := ""
			if e := envNames[f.Name]; e != "" {
				env = " [" + e + "]"
			}
			fmt.Fprintf(out, "  -%s%s (default %q)\n      %s\n", f.Name, env, f.DefValue, f.Usage)
		})
	}
	// Environment first, so that explicit flags override it.
	for name, env := range envNames {
		if v := getenv(env); v != "" {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("environment %s=%q: %v", env, v, err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, p := range []struct{ name, v string }{{"port", c.port}, {"admin-port", c.adminPort}} {
		if n, err := strconv.Atoi(p.v); err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("-%s %q: not a port number", p.name, p.v)
		}
	}
	if c.ttl <= 0 {
		return nil, errors.New("-game-ttl must be > 0")
	}
	if c.drainDelay < 0 {
		return nil, errors.New("-drain-delay must be >= 0")
	}
	if c.maxGames <= 0 {
		return nil, errors.New("-max-games must be > 0")
	}
	if c.maxBody <= 0 {
		return nil, errors.New("-max-body must be > 0")
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		return nil, err
	}
	return c, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("-log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// run is main without the process: it returns the exit code. ready, if not
// nil, receives the server once both listeners are bound (tests).
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- *server.Server) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil { // one plain line: the logger does not exist yet
		fmt.Fprintf(stderr, "wordgame: %v (wordgame -h lists the flags)\n", err)
		return 2
	}
	if cfg.version {
		fmt.Fprintf(stderr, "wordgame %s %s\n", metrics.Version, runtime.Version())
		return 0
	}
	level, _ := parseLevel(cfg.logLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	words, err := game.LoadDictionary(cfg.dict)
	if err != nil {
		log.Error("startup failed", "err", err.Error())
		return 1
	}
	log.Info("dictionary loaded", "path", cfg.dict, "words", len(words))

	reg := metrics.NewRegistry()
	var st *store.Store
	m := metrics.New(reg, cfg.metrics, metrics.Store{Active: func() int { return st.Len() },
		OldestIdle: func() time.Duration { return st.OldestIdle() }, Max: cfg.maxGames, TTL: cfg.ttl})
	st = store.New(store.Options{TTL: cfg.ttl, MaxGames: cfg.maxGames, OnEvict: func(n int) {
		m.Evicted(n)
		log.Info("games evicted", "count", n)
	}})
	srv := server.New(server.Config{
		Store: st, Words: words, Metrics: m, Gatherer: reg, Logger: log, MaxBodyBytes: cfg.maxBody,
	})

	pub, err := net.Listen("tcp", net.JoinHostPort(cfg.addr, cfg.port))
	if err != nil {
		log.Error("startup failed", "err", err.Error())
		return 1
	}
	adm, err := net.Listen("tcp", net.JoinHostPort(cfg.adminAddr, cfg.adminPort))
	if err != nil {
		pub.Close()
		log.Error("startup failed", "err", err.Error())
		return 1
	}
	log.Info("listening", "public_addr", pub.Addr().String(), "admin_addr", adm.Addr().String(),
		"metrics", cfg.metrics, "game_ttl", cfg.ttl.String(), "max_games", cfg.maxGames, "max_body", cfg.maxBody,
		"version", metrics.Version, "goversion", runtime.Version())
	if ready != nil {
		ready <- srv
	}
	err = srv.Run(ctx, pub, adm, server.RunOptions{
		Timeouts: cfg.timeouts, ShutdownTimeout: cfg.shutdownTimeout, EvictInterval: cfg.evictInterval,
		DrainDelay: cfg.drainDelay,
	})
	if err != nil {
		log.Error("shutdown failed", "err", err.Error())
		return 1
	}
	log.Info("shutdown complete")
	return 0
}
