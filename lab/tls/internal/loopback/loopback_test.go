package loopback

import "testing"

func TestCheckAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:0", "127.0.0.2:8080", "[::1]:443", "localhost:1"} {
		if err := CheckAddr(ok); err != nil {
			t.Errorf("CheckAddr(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{":0", "0.0.0.0:80", "[::]:1", "10.0.0.1:80", "example.com:443", "127.0.0.1", ""} {
		if err := CheckAddr(bad); err == nil {
			t.Errorf("CheckAddr(%q) = nil, want an error", bad)
		}
	}
}

func TestCheckURL(t *testing.T) {
	if _, err := CheckURL("https://127.0.0.1:8443"); err != nil {
		t.Errorf("loopback URL refused: %v", err)
	}
	for _, bad := range []string{"http://127.0.0.1:80", "https://192.168.1.1:443", "https://127.0.0.1", "https://[::]:1", "://x"} {
		if _, err := CheckURL(bad); err == nil {
			t.Errorf("CheckURL(%q) = nil, want an error", bad)
		}
	}
}
