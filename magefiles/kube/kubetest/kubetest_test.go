package kubetest_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shiplane/shiplane/magefiles/kube/kubetest"
)

func TestStart(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()

	// The kubeconfig file is what Helm and the deploy lane will use.
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("loading kubeconfig: %v", err)
	}
	raw, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatalf("reading kubeconfig: %v", err)
	}
	if raw.CurrentContext != kubetest.ContextName {
		t.Errorf("current-context = %q, want %q", raw.CurrentContext, kubetest.ContextName)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubetest"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns.Name},
		Data:       map[string]string{"greeting": "hello"},
	}
	if _, err := cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}

	// Read back through a second client built from RESTConfig.
	cs2 := kubernetes.NewForConfigOrDie(c.RESTConfig())
	if _, err := cs2.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("getting namespace: %v", err)
	}
	got, err := cs2.CoreV1().ConfigMaps(ns.Name).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting configmap: %v", err)
	}
	if got.Data["greeting"] != "hello" {
		t.Errorf("configmap data = %v, want greeting=hello", got.Data)
	}

	// No credentials: authenticated as system:anonymous, which RBAC denies.
	anon := c.RESTConfig()
	anon.BearerToken = ""
	anonCS := kubernetes.NewForConfigOrDie(anon)
	_, err = anonCS.CoreV1().ConfigMaps(ns.Name).Get(ctx, cm.Name, metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("anonymous get configmap: err = %v, want Forbidden", err)
	}
	// A token nobody issued is rejected outright.
	bogus := rest.CopyConfig(c.RESTConfig())
	bogus.BearerToken = "not-a-token"
	_, err = kubernetes.NewForConfigOrDie(bogus).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("list namespaces with a bogus token: err = %v, want Unauthorized", err)
	}
}
