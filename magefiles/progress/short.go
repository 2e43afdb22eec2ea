package progress

import "strings"

// ShortLen is how many hex characters every human line shows of a commit or a digest.
const ShortLen = 12

// Short is a commit hash or a digest as human lines show it: its first ShortLen hex characters,
// without the algorithm ("sha256:0123456789abcdef…" is "0123456789ab"). Anything shorter is
// returned as is (without its algorithm).
func Short(hash string) string {
	if i := strings.IndexByte(hash, ':'); i >= 0 {
		hash = hash[i+1:]
	}
	if len(hash) > ShortLen {
		return hash[:ShortLen]
	}
	return hash
}
