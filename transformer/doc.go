// Package transformer is the injection engine: it adds the sidecar sets of a
// SidecarInjector config to the pod templates of Kubernetes workloads, and
// removes them again, on kustomize kyaml nodes. The CLI, the KRM function and
// the admission webhook all call it; none of them edits a workload itself.
//
// # The copy-on-write contract
//
// The fronts write their output from what the engine reports, not by
// comparing trees, so the engine keeps three promises:
//
//  1. It never edits the input in place while planning. It edits a copy of
//     the pod template that owns only what inject and uninject can change
//     (the template, its metadata, annotations and labels, its spec, the
//     spec's containers, initContainers, volumes and imagePullSecrets, and
//     each container with its env and volumeMounts; see editableCopy).
//     Everything else, every scalar, probe and resources block, is the
//     input's own node, shared, and never written to.
//  2. A resource the engine changes gets exactly one Change: Node is the node
//     of the input tree that now holds the new content, Original a node with
//     the content it had before. Putting every Original back into its Node
//     gives back the input, node for node; nothing outside Node changed.
//  3. A resource it leaves alone (Unchanged, Skipped, Ignored) has no Change
//     and its tree is untouched.
//
// The splice writer (manifest.Doc.Rewrote) uses Node and Original to rewrite
// only the lines of the edit and keep the rest of a file byte for byte; the
// webhook diffs Original against Node to build a JSON patch that skips the
// shared subtrees by pointer. A resource that uses YAML anchors is the one
// exception to sharing: it is copied whole (anchors.go explains why), and
// the two promises about Change still hold. contract_test.go pins all three.
package transformer
