package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// proxy is the one address in front of the API replicas, as a load
// balancer is in a deployment: each request goes to the next replica in
// turn. Streams (the live events) pass through unbuffered.
type proxy struct {
	srv      *http.Server
	backends []string // host:port of each replica
	next     atomic.Uint64
}

// newProxy makes a proxy over the replicas at backends (host:port).
func newProxy(backends []string) *proxy {
	p := &proxy{backends: backends}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext:         p.dialer(dialer),
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: p.pick()})
			r.SetXForwarded()
			r.Out.Host = r.In.Host // the replicas see the address the client used
		},
		Transport: transport,
		// -1 flushes after every write: server-sent events reach the
		// client as the replica writes them (the standard proxy does so
		// for any response of unknown length; this keeps it so).
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	return p
}

func (p *proxy) pick() string {
	return p.backends[int(p.next.Add(1)-1)%len(p.backends)]
}

// dialer connects to the replica the request was sent to, or, when that
// one refuses the connection (stopped, restarting), to the next one that
// accepts: nothing of the request was sent yet, so any request may move.
func (p *proxy) dialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			return conn, nil
		}
		for _, b := range p.backends {
			if b == addr {
				continue
			}
			if conn, other := d.DialContext(ctx, network, b); other == nil {
				return conn, nil
			}
		}
		return nil, err
	}
}

// serve listens on addr and serves until close.
func (p *proxy) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", addr, err)
	}
	// Serve returns only once close is called (or the listener breaks, which
	// every client then sees).
	go func() { _ = p.srv.Serve(ln) }()
	return nil
}

// close stops taking connections, gives requests a moment to finish and
// cuts what is left (open event streams end; desks resume them).
func (p *proxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
}
