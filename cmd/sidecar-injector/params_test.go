package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// report shows the parameter values an injection was made with: a column
// in the table (only when some workload has them), a map in JSON.
func TestReportParameters(t *testing.T) {
	dir := filepath.Join(golden.Root(), "testdata", "cases", "params-each-type")
	config, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	injected, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	testio.WriteFile(t, "config.yaml", string(config))
	testio.WriteFile(t, "app.yaml", string(injected))

	table, stderr, code := runCLI(t, nil, "report", "-c", "config.yaml", "-f", "app.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(table, "\n")
	if f := strings.Fields(lines[0]); f[len(f)-1] != "PARAMETERS" {
		t.Errorf("no PARAMETERS column:\n%s", table)
	}
	want := `agent.filter="port 80",agent.interface=eth1,agent.tty=false,nginx.cpu=250m,nginx.image=nginx:1.14.2,nginx.memory=128Mi,nginx.workers=4`
	if !strings.HasSuffix(lines[1], "current  "+want) {
		t.Errorf("row:\n%s\nwant it to end with %s", lines[1], want)
	}

	out, _, code := runCLI(t, nil, "report", "-c", "config.yaml", "-f", "app.yaml", "-o", "json")
	var rows []reportRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 3 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if got := rows[1].Parameters; got["nginx.cpu"] != "1" || got["nginx.memory"] != "32Mi" || got["nginx.image"] != "nginx:1.12.2" {
		t.Errorf("Pod edge's parameters: %v", got)
	}

	// A changed value: check fails and names it.
	changed := strings.Replace(string(injected), "nginx.memory: 128Mi", "nginx.memory: 256Mi", 1)
	stdout, _, code := runCLI(t, []byte(changed), "check", "-c", "config.yaml", "-f", "-")
	if code != 1 || !strings.Contains(stdout, "outdated: injected with other parameter values (nginx.memory 128Mi, now 256Mi;") {
		t.Errorf("check: exit %d\n%s", code, stdout)
	}
}
