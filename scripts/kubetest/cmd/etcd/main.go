// Command etcd is the upstream etcd server, built from go.etcd.io/etcd/server/v3
// as the storage backend of the test kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
