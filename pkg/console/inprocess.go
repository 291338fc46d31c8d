package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// inProcess is a RoundTripper that serves each request with the domain API's handler in
// this process: the console's calls are authenticated, authorised, limited and recorded by
// the API exactly as a remote client's, without a socket.
type inProcess struct{ api http.Handler }

type peerKey struct{}

// withPeer returns ctx carrying the browser's address, which the API then reports for a
// refused key (Options.OnAuthFailure of pkg/api).
func withPeer(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, peerKey{}, addr)
}

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if peer, ok := r.Context().Value(peerKey{}).(string); ok {
		in.RemoteAddr = peer
	}
	in.RequestURI = r.URL.RequestURI()
	rec := &recorder{header: http.Header{}}
	t.api.ServeHTTP(rec, in)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status: http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()),
		Request: r,
	}, nil
}

// recorder buffers one in-process response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
