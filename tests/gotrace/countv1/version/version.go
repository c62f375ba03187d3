// Package version stands in for Go's internal/trace/version when building countv1.
package version

type Version uint32
