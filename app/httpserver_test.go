package app

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestHTTPServerBoundsClients(t *testing.T) {
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("timeouts not all set: %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	tests := []struct {
		name   string
		header int
		want   int
	}{
		{"a GitHub-sized header", 4 << 10, http.StatusNoContent},
		// Held for every stalled request, outside the body budget: 768 of
		// 60 KiB each cost 94 MiB under the former 64 KiB cap.
		{"internet caller: a 24 KiB header", 24 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"internet caller: a header far over the cap", 200 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
			req.Header.Set("X-Padding", strings.Repeat("a", tt.header))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
