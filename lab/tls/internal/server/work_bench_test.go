package server

import "testing"

// BenchmarkWork measures the per-request fixed work (-work rounds).
func BenchmarkWork(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Work(DefaultWork)
	}
}
