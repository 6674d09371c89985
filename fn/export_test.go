package fn

import "io"

// RunWhole is Run reading the ResourceList as one document, as it does
// when the list is not in kustomize's and kpt's layout.
var RunWhole = runWhole

// RunItemByItem is Run reading the list one item at a time; ok is false
// when it would read it as one document instead.
func RunItemByItem(data []byte, stdout, stderr io.Writer) (code int, ok bool) {
	l, ok := splitItems(data)
	if !ok {
		return 0, false
	}
	results, _, err := l.run(newLimits(DefaultMaxInputMB).document, stdout)
	if err != nil {
		return 0, false
	}
	return report(results, stderr), true
}
