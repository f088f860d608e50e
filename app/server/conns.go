package server

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxConns is how many connections the HTTP server holds open at once.
// Each costs about 20 KiB idle (a goroutine stack and two 4 KiB buffers)
// and up to about 60 KiB while a webhook request is read (headers up to
// MaxHeaderBytes, the first body buffer); 1024 of them stay near 60 MiB,
// beside the body budget, inside the 256 MB VM of fly.toml. Without a
// bound, 8,000 idle keep-alive connections took the process from 27 to
// 175 MiB. GitHub and the Fly proxy open a handful.
const MaxConns = 1024

// shedAfter is how long a connection must have been idle before it may be
// closed to make room. A client may be sending on a connection that has
// just been opened or has just been answered; closing it then would fail
// a request in flight. Anyone holding every slot with idle connections
// must use each of them every second.
const shedAfter = time.Second

// ConnLimit caps the connections an HTTP server holds open. When all are
// taken, a new connection makes room by closing the connection that has
// been idle longest (a keep-alive connection between requests, or one that
// has not sent a byte yet), once it has been idle shedAfter: idle
// connections are cheap to hold and cheaper to open, so they must not keep
// a delivery out. Until then, or while every slot serves a request, the new
// connection waits; the ones behind it wait in the kernel's accept queue.
type ConnLimit struct {
	slots chan struct{}
	mu    sync.Mutex
	idle  map[*limitedConn]time.Time // since when each has been idle
	shed  prometheus.Counter
}

// NewConnLimit returns a limit of max connections; its metrics go to reg
// when it is not nil.
func NewConnLimit(max int, reg prometheus.Registerer) *ConnLimit {
	c := &ConnLimit{
		slots: make(chan struct{}, max),
		idle:  map[*limitedConn]time.Time{},
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contribot_http_connections_shed_total",
			Help: "Idle HTTP connections closed to make room for a new one, all connection slots being taken.",
		}),
	}
	if reg != nil {
		reg.MustRegister(c.shed,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "contribot_http_connections",
				Help: "HTTP connections open.",
			}, func() float64 { return float64(len(c.slots)) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "contribot_http_connections_max",
				Help: "The most HTTP connections held open at once; past it a new connection closes an idle one or waits.",
			}, func() float64 { return float64(cap(c.slots)) }))
	}
	return c
}

// Listener wraps ln so that it accepts connections within the limit. The
// server using it must have ConnState as its ConnState hook, or no
// connection is ever known to be idle.
func (c *ConnLimit) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, limit: c, closed: make(chan struct{})}
}

// ConnState tracks which connections are idle; it is the http.Server's
// ConnState hook.
func (c *ConnLimit) ConnState(conn net.Conn, state http.ConnState) {
	lc, ok := conn.(*limitedConn)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew, http.StateIdle:
		c.idle[lc] = time.Now()
	default:
		delete(c.idle, lc)
	}
}

// shedIdle closes the connection idle longest, if it has been idle
// shedAfter. Its slot returns when the server, reading from it, sees it
// closed.
func (c *ConnLimit) shedIdle() {
	c.mu.Lock()
	var oldest *limitedConn
	since := time.Now().Add(-shedAfter)
	for lc, t := range c.idle {
		if !t.After(since) {
			oldest, since = lc, t
		}
	}
	if oldest != nil {
		delete(c.idle, oldest)
	}
	c.mu.Unlock()
	if oldest != nil {
		c.shed.Inc()
		_ = oldest.Conn.Close()
	}
}

type limitListener struct {
	net.Listener
	limit     *ConnLimit
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.limit.slots <- struct{}{}:
			return &limitedConn{Conn: conn, slots: l.limit.slots}, nil
		default:
		}
		// Every slot is taken: make room, or wait for it. An idle
		// connection may become old enough to close before a request ends.
		l.limit.shedIdle()
		select {
		case l.limit.slots <- struct{}{}:
			return &limitedConn{Conn: conn, slots: l.limit.slots}, nil
		case <-time.After(shedAfter / 4):
		case <-l.closed:
			_ = conn.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}
