package docker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/context/store"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// getenv reads only vars: the process environment stays out of these tests.
func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestResolveEndpointFollowsTheDockerCLIOrder(t *testing.T) {
	dir := testenv.DockerConfig(t, "fromconfig", map[string]string{
		"fromconfig": "unix:///tmp/fromconfig.sock",
		"fromenv":    "tcp://127.0.0.1:2999",
	})
	cfgFile := filepath.Join(dir, "config.json")
	home := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(home, ".docker")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		vars              map[string]string
		context, host     string
		fromHasSubstrings string
	}{
		{"DOCKER_HOST beats DOCKER_CONTEXT and currentContext",
			map[string]string{"DOCKER_HOST": "unix:///tmp/fromhost.sock", "DOCKER_CONTEXT": "fromenv", "DOCKER_CONFIG": dir},
			"default", "unix:///tmp/fromhost.sock", "DOCKER_HOST"},
		{"DOCKER_CONTEXT beats currentContext",
			map[string]string{"DOCKER_CONTEXT": "fromenv", "DOCKER_CONFIG": dir},
			"fromenv", "tcp://127.0.0.1:2999", "DOCKER_CONTEXT"},
		{"an empty DOCKER_HOST and DOCKER_CONTEXT are unset: currentContext",
			map[string]string{"DOCKER_HOST": "", "DOCKER_CONTEXT": "", "DOCKER_CONFIG": dir},
			"fromconfig", "unix:///tmp/fromconfig.sock", "currentContext in " + cfgFile},
		{"DOCKER_CONTEXT=default is DOCKER_HOST's context: the default socket",
			map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": dir},
			"default", "unix:///var/run/docker.sock", "DOCKER_CONTEXT"},
		{"no config.json and nothing set: the default socket",
			map[string]string{"DOCKER_CONFIG": t.TempDir()},
			"default", "unix:///var/run/docker.sock", "no context set"},
		{"no DOCKER_CONFIG: currentContext in ~/.docker/config.json",
			map[string]string{"HOME": home, "DOCKER_CONFIG": ""},
			"fromconfig", "unix:///tmp/fromconfig.sock", "currentContext in " + filepath.Join(home, ".docker", "config.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := docker.ResolveEndpoint(docker.EndpointEnvFrom(getenv(tc.vars)))
			if err != nil {
				t.Fatal(err)
			}
			if ep.Context != tc.context || ep.Host != tc.host || !strings.Contains(ep.From, tc.fromHasSubstrings) {
				t.Errorf("endpoint = %+v, want context %s host %s from %q", ep, tc.context, tc.host, tc.fromHasSubstrings)
			}
			if want := "context " + tc.context + " (" + tc.host + ")"; ep.String() != want {
				t.Errorf("String() = %q, want %q", ep.String(), want)
			}
		})
	}
}

func TestResolveEndpointNamesAnUnknownContextAndTheFix(t *testing.T) {
	dir := testenv.DockerConfig(t, "gone", map[string]string{"other": "unix:///tmp/other.sock"})
	for _, tc := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"DOCKER_CONTEXT": "nope", "DOCKER_CONFIG": dir},
			[]string{`"nope"`, "from DOCKER_CONTEXT", filepath.Join(dir, "contexts"), "fix:", "`docker context ls`", "unset"}},
		{map[string]string{"DOCKER_CONFIG": dir},
			[]string{`"gone"`, "currentContext in " + filepath.Join(dir, "config.json"), "fix:", "`docker context ls`", "`docker context use default`"}},
	} {
		_, err := docker.ResolveEndpoint(docker.EndpointEnvFrom(getenv(tc.vars)))
		var uc *docker.UnknownContextError
		if !errors.As(err, &uc) {
			t.Fatalf("ResolveEndpoint(%v) = %v, want *UnknownContextError", tc.vars, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message lacks %q: %v", w, err)
			}
		}
	}
}

func TestNewNamesTheContextAndItsFixWhenItsDaemonIsNotRunning(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "colima.sock")
	dir := testenv.DockerConfig(t, "colima", map[string]string{"colima": host})
	ep, err := docker.ResolveEndpoint(docker.EndpointEnvFrom(getenv(map[string]string{"DOCKER_CONFIG": dir})))
	if err != nil {
		t.Fatal(err)
	}
	_, err = docker.New(t.Context(), docker.WithEndpoint(ep), docker.WithPingTimeout(5*time.Second))
	var ue *docker.UnreachableError
	if !errors.As(err, &ue) || ue.Endpoint.Context != "colima" {
		t.Fatalf("New = %v, want *UnreachableError of context colima", err)
	}
	for _, want := range []string{"cannot reach the Docker daemon of context colima (" + host + ")", "currentContext", "fix: `colima start`", "`docker context use default`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestAnSSHEndpointDialsThroughTheDockerCLIConnectionHelper(t *testing.T) {
	ep := docker.Endpoint{Context: "big", Host: "ssh://builder@big.example.invalid"}
	api, err := ep.NewAPIClient()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	// The connection helper's requests go to its placeholder host over the ssh dialer; a plain
	// host would keep its own address.
	if got := api.DaemonHost(); got != "http://docker.example.com" {
		t.Errorf("DaemonHost = %q, want the connection helper's http://docker.example.com", got)
	}
	plain, err := docker.Endpoint{Context: "default", Host: "tcp://127.0.0.1:2375"}.NewAPIClient()
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got := plain.DaemonHost(); got != "tcp://127.0.0.1:2375" {
		t.Errorf("plain DaemonHost = %q", got)
	}
}

// TestNewOverSSHContextWithFakeSSH runs the real connection helper against the local daemon: the
// `ssh` it runs is a stand-in on PATH that logs its arguments and runs the remote command here
// (no sshd runs on these machines). The remote command is the docker CLI's dial-stdio.
func TestNewOverSSHContextWithFakeSSH(t *testing.T) {
	local := testenv.RequireDocker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("the docker CLI runs the remote end of an ssh endpoint (docker system dial-stdio): %v", err)
	}
	sock := strings.TrimPrefix(local.Host(), "unix://")
	bin := t.TempDir()
	sshLog := filepath.Join(bin, "ssh.log")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '" + sshLog + "'\nfor last; do :; done\neval \"exec $last\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := testenv.DockerConfig(t, "big", map[string]string{"big": "ssh://builder@big.example.invalid" + sock})
	ep, err := docker.ResolveEndpoint(docker.EndpointEnvFrom(getenv(map[string]string{"DOCKER_CONFIG": dir})))
	if err != nil {
		t.Fatal(err)
	}
	d, err := docker.New(t.Context(), docker.WithEndpoint(ep))
	if err != nil {
		t.Fatalf("New over the ssh context: %v", err)
	}
	defer d.Close()
	if _, err := d.ListImages(t.Context(), docker.ListOptions{Reference: "shiplane-none/*"}); err != nil {
		t.Fatalf("listing images over ssh: %v", err)
	}
	if d.Endpoint().Context != "big" || d.Host() != "ssh://builder@big.example.invalid"+sock {
		t.Errorf("endpoint = %+v", d.Endpoint())
	}
	args, err := os.ReadFile(sshLog)
	if err != nil {
		t.Fatalf("ssh never ran: %v", err)
	}
	for _, want := range []string{"-l\nbuilder\n", "\nbig.example.invalid\n", "--host=unix://" + sock, "system dial-stdio"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("ssh arguments lack %q:\n%s", want, args)
		}
	}
}

// TestNewUsesTheContextsTLSMaterial dials a context whose daemon is an HTTPS stand-in that
// answers /_ping only to a client certificate signed by its CA: the context's ca.pem must verify
// the server and its cert.pem and key.pem must be presented.
func TestNewUsesTheContextsTLSMaterialWithAFakeTLSDaemon(t *testing.T) {
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	srvCert, srvKey := newCert(t, ca, caKey, "daemon", false)
	cliCert, cliKey := newCert(t, ca, caKey, "client", false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Ostype", "linux")
		if r.URL.Path == "/_ping" {
			w.Write([]byte("OK"))
			return
		}
		http.NotFound(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused plain-HTTP attempt below
	srv.TLS = &tls.Config{
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
	}
	srv.StartTLS()
	defer srv.Close()
	host := "tcp://" + srv.Listener.Addr().String()

	dir := testenv.DockerConfig(t, "secure", map[string]string{"secure": host})
	env := docker.EndpointEnvFrom(getenv(map[string]string{"DOCKER_CONFIG": dir}))
	// Without the TLS material the daemon refuses the client.
	if _, err := docker.New(t.Context(), docker.WithEndpoint(mustResolve(t, env)), docker.WithPingTimeout(5*time.Second)); err == nil {
		t.Fatal("New without TLS material succeeded; the stand-in daemon must require a client certificate")
	}
	err := docker.ContextStore(dir).ResetEndpointTLSMaterial("secure", "docker", &store.EndpointTLSData{Files: map[string][]byte{
		"ca.pem":   pemOf("CERTIFICATE", ca.Raw),
		"cert.pem": pemOf("CERTIFICATE", cliCert.Raw),
		"key.pem":  pemOf("EC PRIVATE KEY", mustMarshalEC(t, cliKey)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ep := mustResolve(t, env)
	if ep.TLS == nil || len(ep.TLS.CA) == 0 || len(ep.TLS.Cert) == 0 || len(ep.TLS.Key) == 0 {
		t.Fatalf("endpoint TLS = %+v, want the context's ca, cert and key", ep.TLS)
	}
	d, err := docker.New(t.Context(), docker.WithEndpoint(ep), docker.WithPingTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("New with the context's TLS material: %v", err)
	}
	d.Close()
}

func mustResolve(t *testing.T, env docker.EndpointEnv) docker.Endpoint {
	t.Helper()
	ep, err := docker.ResolveEndpoint(env)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustMarshalEC(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
