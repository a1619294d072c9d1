// The sandbox ("pause") container of every pod on the kind node image (hack/kind/node-image.sh):
// holds the pod's namespaces, reaps orphaned children, exits 0 on SIGINT/SIGTERM. The same job
// as Kubernetes' build/pause/linux/pause.c, in Go so it builds with the Go toolchain alone.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
