// Command kustomize-render prints the YAML that kustomize renders for one directory,
// like `kubectl kustomize DIR`, with sigs.k8s.io/kustomize/api pinned in go.mod so the
// manifest checks render the same everywhere without kubectl.
//
// Usage: kustomize-render DIR
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kustomize-render DIR")
		os.Exit(2)
	}
	opts := krusty.MakeDefaultOptions()
	// As the kustomize CLI and `kubectl kustomize`: the legacy order (Namespaces and
	// CRDs first) unless a kustomization sets sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	k := krusty.MakeKustomizer(opts)
	resources, err := k.Run(filesys.MakeFsOnDisk(), os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-render: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out, err := resources.AsYaml()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-render: %v\n", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		os.Exit(1)
	}
}
