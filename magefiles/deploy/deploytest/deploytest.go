// Package deploytest wires deploy's goals to fakes, for tests of what cannot run against the real
// API server used elsewhere (kube-apiserver and etcd, with no kubelet): a release's objects becoming
// ready. Releases are kept in Helm's memory storage driver; objects go to Helm's fake kube client
// (helm.sh/helm/v3/pkg/kube/fake), which accepts everything and records nothing on its own.
package deploytest

import (
	"context"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/shiplane/shiplane/magefiles/deploy"
)

// FakeKube is Helm's fake kube client (kubefake.FailingKubeClient: set its WaitError, CreateError,
// UpdateError, DeleteError... to make a call fail) that also records every readiness wait.
type FakeKube struct {
	kubefake.FailingKubeClient

	mu      sync.Mutex
	waits   []time.Duration
	deletes []time.Duration
}

var _ kube.Interface = (*FakeKube)(nil)
var _ kube.InterfaceExt = (*FakeKube)(nil)

// Wait records the wait and returns WaitError, after WaitDuration when set: the fake's idea of the
// release's objects becoming ready, or not in time.
func (f *FakeKube) Wait(resources kube.ResourceList, timeout time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, timeout)
	f.mu.Unlock()
	return f.FailingKubeClient.Wait(resources, timeout)
}

// WaitForDelete records the wait for deletion and returns WaitError.
func (f *FakeKube) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	f.mu.Lock()
	f.deletes = append(f.deletes, timeout)
	f.mu.Unlock()
	return f.FailingKubeClient.WaitForDelete(resources, timeout)
}

// Waits returns the timeouts of the readiness waits so far, in call order.
func (f *FakeKube) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// DeleteWaits returns the timeouts of the waits for deletion so far, in call order.
func (f *FakeKube) DeleteWaits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.deletes...)
}

// FakeCluster is a namespace's Helm over fakes: Helm's memory storage (Store) and FakeKube (Kube),
// with FakeNamespaces.
type FakeCluster struct {
	Helm       *deploy.Helm
	Kube       *FakeKube
	Store      *driver.Memory
	Namespaces *FakeNamespaces
}

// NewFakeCluster returns a FakeCluster for namespace, with Helm's default capabilities.
func NewFakeCluster(t testing.TB, namespace string) *FakeCluster {
	t.Helper()
	mem := driver.NewMemory()
	mem.SetNamespace(namespace)
	fk := &FakeKube{}
	h, err := deploy.NewHelm(namespace, nil,
		deploy.WithKubeClient(fk),
		deploy.WithStorage(mem),
		deploy.WithCapabilities(chartutil.DefaultCapabilities.Copy()))
	if err != nil {
		t.Fatalf("deploytest: %v", err)
	}
	return &FakeCluster{Helm: h, Kube: fk, Store: mem, Namespaces: NewFakeNamespaces()}
}

// FakeNamespaces is an in-memory set of namespaces.
type FakeNamespaces struct {
	mu     sync.Mutex
	phases map[string]string
	labels map[string]map[string]string
	// Err, when set, is returned by every call.
	Err error
}

var _ deploy.Namespaces = (*FakeNamespaces)(nil)

// NewFakeNamespaces returns an empty set.
func NewFakeNamespaces() *FakeNamespaces {
	return &FakeNamespaces{phases: map[string]string{}, labels: map[string]map[string]string{}}
}

// Set puts a namespace in a phase ("Active", "Terminating"); "" removes it.
func (f *FakeNamespaces) Set(name, phase string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if phase == "" {
		delete(f.phases, name)
		return
	}
	f.phases[name] = phase
}

// Labels returns the labels a namespace was created with.
func (f *FakeNamespaces) Labels(name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.labels[name]
}

// NamespacePhase implements deploy.Namespaces.
func (f *FakeNamespaces) NamespacePhase(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return "", f.Err
	}
	return f.phases[name], nil
}

// CreateNamespace implements deploy.Namespaces.
func (f *FakeNamespaces) CreateNamespace(_ context.Context, name string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	if _, ok := f.phases[name]; !ok {
		f.phases[name] = "Active"
		f.labels[name] = labels
	}
	return nil
}
