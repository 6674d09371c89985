//go:build tools

// Package tools pins the programs hack/install-envtest.sh builds for the
// envtest-based end-to-end tests. It is never compiled (build tag "tools").
package tools

import (
	// etcd, only built when Debian's etcd-server package is unavailable.
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
