package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sidecar-injector/sidecar-injector/transformer"
	sigsyaml "sigs.k8s.io/yaml"
)

// reportRow is one workload of `report`, as JSON and YAML print it.
type reportRow struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Source is where it was read: file:line (stdin:line for a pipe).
	Source string `json:"source"`
	// Live: read back from the API server, and judged by meaning.
	Live          bool     `json:"live"`
	Asked         []string `json:"asked"`
	Injected      []string `json:"injected"`
	Digest        string   `json:"digest,omitempty"`
	DigestCurrent bool     `json:"digestCurrent"`
	State         string   `json:"state"`
	Reason        string   `json:"reason,omitempty"`
	Detail        string   `json:"detail,omitempty"`
	Errors        []string `json:"errors,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`

	// Parameters are the parameter values the injection was made with.
	Parameters map[string]string `json:"parameters,omitempty"`
}

func rowOf(f transformer.Finding) reportRow {
	r := reportRow{APIVersion: f.Resource.APIVersion, Kind: f.Resource.Kind, Namespace: f.Resource.Namespace, Name: f.Resource.Name,
		Source: f.Resource.Origin, Live: f.Live, Asked: nonNil(f.Asked), Injected: nonNil(f.Injected), Digest: f.Digest,
		DigestCurrent: f.DigestCurrent(), Parameters: f.Parameters, State: string(f.State), Reason: string(f.Reason), Detail: f.Detail, Warnings: f.Warnings}
	for _, e := range f.Errs {
		if e.Field == "" {
			r.Errors = append(r.Errors, e.Msg)
		} else {
			r.Errors = append(r.Errors, e.Field+": "+e.Msg)
		}
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, a, code := startAudit("report", args, stdin, stdout, stderr)
	if a == nil {
		return code
	}
	var rows []reportRow
	counts := map[string]int{}
	for _, docs := range a.findings {
		for _, df := range docs {
			for _, f := range df.findings {
				rows = append(rows, rowOf(f))
				counts[string(f.State)]++
			}
		}
	}
	var err error
	switch o.output {
	case "json":
		b, _ := json.MarshalIndent(nonNilRows(rows), "", "  ") // only strings, bools and lists of them
		_, err = fmt.Fprintf(stdout, "%s\n", b)
	case "yaml":
		var b []byte
		if b, err = sigsyaml.Marshal(nonNilRows(rows)); err == nil {
			_, err = stdout.Write(b)
		}
	default:
		err = writeTable(stdout, rows)
	}
	if err != nil {
		return runFailed(err, stderr)
	}
	for _, e := range a.parseErr {
		fmt.Fprintf(stderr, "error: %v\n", e)
	}
	fmt.Fprintf(stderr, "sidecar-injector report: %s\n", summary(len(rows), counts))
	if len(a.parseErr) > 0 {
		return 1
	}
	return 0
}

func nonNilRows(rows []reportRow) []reportRow {
	if rows == nil {
		return []reportRow{}
	}
	return rows
}

// writeTable prints the rows as aligned columns.
func writeTable(w io.Writer, rows []reportRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A PARAMETERS column only when a workload has parameter values, so
	// that tables of configs without parameters stay as they were.
	params := slices.ContainsFunc(rows, func(r reportRow) bool { return len(r.Parameters) > 0 })
	header := "KIND\tNAMESPACE/NAME\tSOURCE\tASKED\tINJECTED\tDIGEST\tCURRENT\tSTATE"
	if params {
		header += "\tPARAMETERS"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		name := r.Name
		if r.Namespace != "" {
			name = r.Namespace + "/" + r.Name
		}
		source := r.Source
		if r.Live {
			source = "live"
		}
		current := "-"
		if r.Digest != "" {
			current = map[bool]string{true: "yes", false: "no"}[r.DigestCurrent]
		}
		state := r.State
		if r.Reason != "" && r.State != string(transformer.StateOptedOut) {
			state += " (" + r.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Kind, orDash(name), source, orDash(strings.Join(r.Asked, ",")),
			orDash(strings.Join(r.Injected, ",")), orDash(r.Digest), current, state)
		if params {
			fmt.Fprintf(tw, "\t%s", orDash(paramsCell(r.Parameters)))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// summary counts the workloads by state, in the states' order.
func summary(n int, counts map[string]int) string {
	if n == 0 {
		return "no workloads"
	}
	parts := []string{fmt.Sprintf("%d workloads", n)}
	for _, s := range []transformer.State{transformer.StateCurrent, transformer.StateNotInjected, transformer.StateOutdated, transformer.StateDrifted,
		transformer.StateRemove, transformer.StateOptedOut, transformer.StateSkipped, transformer.StateError} {
		if c := counts[string(s)]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, s))
		}
	}
	return strings.Join(parts, ", ")
}

// paramsCell renders parameter values as set.name=value, comma-separated;
// a value with a space, a comma or a quote is quoted.
func paramsCell(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := params[k]
		if v == "" || strings.ContainsAny(v, " ,=\"'\t") {
			v = strconv.Quote(v)
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, ",")
}
