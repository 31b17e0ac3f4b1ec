//go:build tools

// Package tools pins Helm for tests of the chart in charts/ (optional: test/kube/ensure-binaries.sh --helm).
// A module of its own, so Helm keeps the client-go version its release was tested with.
package tools

import (
	_ "helm.sh/helm/v4/pkg/cmd"
)
