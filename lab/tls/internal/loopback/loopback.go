// Package loopback refuses addresses that are not on the loopback interface.
package loopback

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckAddr accepts host:port where host is a loopback IP or "localhost".
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", addr, err)
	}
	return checkHost(addr, host)
}

// CheckURL accepts an https URL whose host is on loopback.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url %q: %v", raw, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be https", raw)
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("url %q: needs an explicit port", raw)
	}
	if err := checkHost(raw, u.Hostname()); err != nil {
		return nil, err
	}
	return u, nil
}

func checkHost(what, host string) error {
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (only 127.0.0.0/8, ::1 or localhost)", what)
	}
	return nil
}
