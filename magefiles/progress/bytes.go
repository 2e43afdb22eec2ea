package progress

import "context"

// Bytes receives what a piece of work transferred: AddBytes with each chunk sent, ExpectBytes
// with a size known to be coming. Implementations are safe for concurrent use (a push uploads
// several layers at once).
type Bytes interface {
	AddBytes(n int64)
	ExpectBytes(n int64)
}

type bytesKey struct{}

// WithBytes returns ctx carrying b: what AddBytes and ExpectBytes with that context report to.
func WithBytes(ctx context.Context, b Bytes) context.Context {
	return context.WithValue(ctx, bytesKey{}, b)
}

// AddBytes reports n bytes sent to the Bytes ctx carries; without one it does nothing.
func AddBytes(ctx context.Context, n int64) {
	if b, ok := ctx.Value(bytesKey{}).(Bytes); ok && n > 0 {
		b.AddBytes(n)
	}
}

// ExpectBytes reports n more bytes to send to the Bytes ctx carries; without one it does
// nothing.
func ExpectBytes(ctx context.Context, n int64) {
	if b, ok := ctx.Value(bytesKey{}).(Bytes); ok && n > 0 {
		b.ExpectBytes(n)
	}
}
