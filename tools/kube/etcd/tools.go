//go:build tools

// Package tools pins etcd's server for test/kube. The etcd binary is the main package at the
// root of go.etcd.io/etcd/server/v3; a main package cannot be imported, so this imports the
// package it calls (etcdmain) and `go mod tidy` keeps the build's dependencies.
//
// Why a module of its own: go.etcd.io/etcd/server/v3's go.mod has replace lines, so
// `go install ...@v3.6.x` refuses it; `go build` of it as a dependency of this module works.
// It is kept apart from ../ (kube) so each keeps the dependency versions its release tested.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
