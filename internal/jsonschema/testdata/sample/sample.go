// Package sample is parsed, not built, by ParseComments' test.
package sample

// Mode says how.
type Mode string

const (
	// ModeFast is quick.
	ModeFast Mode = "fast"
	ModeSlow Mode = "slow"
	other         = "not a Mode"
)

// Thing is a thing.
// It has two lines.
type Thing struct {
	// How it runs.
	// +kubebuilder:default=fast
	Mode Mode `json:"mode,omitempty"`
	Base `json:",inline"`
}

// Base is embedded.
type Base struct{ Name string }
