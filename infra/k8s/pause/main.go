// Command pause is the sandbox ("pause") container of every pod on the local node
// (infra/k8s/node.sh): it holds the pod's namespaces, reaps the zombies re-parented to it
// (it is PID 1 of the pod when the PID namespace is shared) and exits 0 on SIGINT or
// SIGTERM. Built statically (CGO_ENABLED=0) into a one-file image, since no registry with
// registry.k8s.io/pause is reachable here.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("pause (intake local node)\n")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
