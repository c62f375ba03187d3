package server

import (
	"context"

	"perfkit.local/wordgame/internal/store"
)

func runEvictorUntil(s *store.Store, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	s.RunEvictor(ctx, 20e6) // 20 ms
}
