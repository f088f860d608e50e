package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/server"
)

// countingListener counts the connections the kernel handed over.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// limitedServer serves h behind a ConnLimit of max connections.
func limitedServer(t *testing.T, max int, h http.Handler) (*httptest.Server, *countingListener, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	limit := server.NewConnLimit(max, reg)
	srv := httptest.NewUnstartedServer(h)
	inner := &countingListener{Listener: srv.Listener}
	srv.Listener = limit.Listener(inner)
	srv.Config.ConnState = limit.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, inner, reg
}

// waitUntil polls cond; the deadline only keeps a broken build from
// hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keepAlive sends one request on a new connection, reads the answer and
// leaves the connection open and idle.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c
}

// TestConnLimit_InternetCaller_IdleConnectionsMakeRoom: anyone can open
// keep-alive connections and leave them idle (8,000 cost 150 MiB). With
// every slot taken by them, a new request is still served: the longest
// idle connection is closed for it.
func TestConnLimit_InternetCaller_IdleConnectionsMakeRoom(t *testing.T) {
	const max = 4
	srv, inner, reg := limitedServer(t, max, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	addr := srv.Listener.Addr().String()
	var idle []net.Conn
	for range max {
		idle = append(idle, keepAlive(t, addr))
	}
	for i := range 3 {
		client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatalf("request %d with every slot idle: %v", i, err)
		}
		resp.Body.Close()
	}
	// An idle connection went for it: closed before the request was
	// answered, so its end is already there to read.
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			closed++
		}
	}
	if closed == 0 {
		t.Errorf("no idle connection was closed")
	}
	if got := series(t, reg, "contribot_http_connections_shed_total")[""]; got < 1 {
		t.Errorf("shed %v connections, want at least 1", got)
	}
	if inner.accepted.Load() != max+3 {
		t.Errorf("accepted %d connections, want %d", inner.accepted.Load(), max+3)
	}
}

// TestConnLimit_InternetCaller_RequestsInProgressAreNotShed: with every
// slot taken by requests in progress, a new connection waits for one to
// end, no more than max requests run at once, and every one is answered.
func TestConnLimit_InternetCaller_RequestsInProgressAreNotShed(t *testing.T) {
	const max, extra = 4, 3
	var in, most atomic.Int64
	release := make(chan struct{})
	var releaseOnce sync.Once
	// A failure must not leave the server's cleanup waiting for handlers
	// that are never released.
	defer releaseOnce.Do(func() { close(release) })
	srv, inner, reg := limitedServer(t, max, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := in.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		in.Add(-1)
	}))
	var wg sync.WaitGroup
	errs := make(chan error, max+extra)
	for range max + extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Get(srv.URL)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
		}()
	}
	// max requests run; one more connection is taken and waits for a
	// slot; the rest wait in the kernel's queue.
	waitUntil(t, "the slots filled and one connection waiting", func() bool {
		return in.Load() == max && inner.accepted.Load() == max+1
	})
	if got := series(t, reg, "contribot_http_connections")[""]; got != max {
		t.Errorf("contribot_http_connections = %v, want %d", got, max)
	}
	releaseOnce.Do(func() { close(release) })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request not answered: %v", err)
	}
	if most.Load() > max {
		t.Errorf("%d requests ran at once, want at most %d", most.Load(), max)
	}
	if got := series(t, reg, "contribot_http_connections_shed_total")[""]; got != 0 {
		t.Errorf("shed %v connections in progress", got)
	}
}

// TestConnLimit_CloseEndsAWaitingAccept: shutting the server down while a
// connection waits for a slot does not hang.
func TestConnLimit_CloseEndsAWaitingAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingListener{Listener: ln}
	limited := server.NewConnLimit(1, nil).Listener(inner)
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, err := limited.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	done := make(chan error, 1)
	go func() {
		_, err := limited.Accept() // the second waits: the one slot is taken
		done <- err
	}()
	waitUntil(t, "the second connection waiting for a slot", func() bool { return inner.accepted.Load() == 2 })
	limited.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}
