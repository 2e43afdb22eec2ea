package progress

import (
	"fmt"
	"strings"
)

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

// HumanBytes is n in binary units, as human lines show sizes: "512 B", "1.5 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
