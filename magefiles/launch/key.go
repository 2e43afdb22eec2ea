package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// keyVersion changes when the way a binary is compiled or kept changes, so old entries are not
// reused by a launcher that would compile them differently.
const keyVersion = "shiplane-launch-1"

// keyEnv are the environment variables that change what `go build` produces.
var keyEnv = []string{
	"GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOTOOLCHAIN", "GOWORK",
	"GOAMD64", "GOARM", "GOARM64", "GO386", "GOPPC64", "GORISCV64", "GOMIPS", "GOMIPS64", "GOWASM",
	"CC", "CGO_CFLAGS", "CGO_LDFLAGS",
}

// Key is the hash of every input of the compiled targets binary of the repository at root: the
// path and content of each non-test .go file under magefiles/ (folders Go ignores, testdata and
// those starting with "." or "_", are skipped), go.mod and go.sum, the Go version the launcher was
// built with and its GOOS/GOARCH (mage compiles for the host whatever GOOS says), and the build
// environment (GOFLAGS, CGO_ENABLED and the others in keyEnv) as getenv reports it. The targets import nothing of the module outside magefiles/ and
// embed no files; a change to either would need this list to grow.
func Key(root string, getenv func(string) string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s/%s\x00", keyVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, k := range keyEnv {
		fmt.Fprintf(h, "env %s=%s\x00", k, getenv(k))
	}
	files, err := keyFiles(root)
	if err != nil {
		return "", err
	}
	for _, rel := range files {
		if err := hashFile(h, root, rel); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// keyFiles lists the inputs Key hashes, as slash-separated paths relative to root, sorted.
func keyFiles(root string) ([]string, error) {
	files := []string{"go.mod", "go.sum"}
	dir := filepath.Join(root, "magefiles")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == mainFileName {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the magefiles of %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}

func hashFile(h io.Writer, root, rel string) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("hashing the targets' inputs: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hashing the targets' inputs: %w", err)
	}
	fmt.Fprintf(h, "file %s %d\x00", rel, st.Size())
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing %s: %w", rel, err)
	}
	return nil
}
