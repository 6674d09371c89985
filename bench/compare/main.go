// Command compare runs whole processes on the same stdin, interleaved
// round by round so that a noisy machine slows them alike, and prints the
// median wall time, CPU time (user+sys) and peak RSS of each as a markdown
// row, with its wall-time and RSS ratios to the first (the floor), or with
// -per-byte its peak RSS per byte of input instead.
//
//	compare -rounds 7 -input in.yaml -label 10k floor=/path/fnfloor fn=/path/sidecar-injector
//
// A command must exit 0, or with the code -exit gives for its name
// (`-exit check=1`: a check that finds stale workloads).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type sample struct {
	wall, cpu time.Duration
	rssKB     int64
}

func main() {
	rounds := flag.Int("rounds", 7, "runs of each command")
	input := flag.String("input", "", "file given to every command on stdin")
	label := flag.String("label", "", "first column of the rows")
	header := flag.Bool("header", false, "print the table header first")
	perByte := flag.Bool("per-byte", false, "print peak RSS per byte of input instead of ratios to the first command")
	exits := map[string]int{}
	flag.Func("exit", "NAME=CODE: the exit code NAME's command must give (default 0); repeatable", func(v string) error {
		name, code, ok := strings.Cut(v, "=")
		n, err := strconv.Atoi(code)
		if !ok || err != nil {
			return fmt.Errorf("expected NAME=CODE, got %q", v)
		}
		exits[name] = n
		return nil
	})
	flag.Parse()
	if *input == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compare -input FILE [-rounds N] [-label L] name=command...")
		os.Exit(2)
	}
	info, err := os.Stat(*input)
	if err != nil {
		fail(err)
	}
	names, cmds := make([]string, flag.NArg()), make([][]string, flag.NArg())
	for i, arg := range flag.Args() {
		name, cmd, ok := strings.Cut(arg, "=")
		if !ok {
			fail(fmt.Errorf("%q: expected name=command", arg))
		}
		names[i], cmds[i] = name, strings.Fields(cmd)
	}
	samples := make([][]sample, len(cmds))
	for r := 0; r < *rounds; r++ {
		for i, cmd := range cmds {
			s, err := runOnce(cmd, *input, exits[names[i]])
			if err != nil {
				fail(fmt.Errorf("%s: %w", names[i], err))
			}
			samples[i] = append(samples[i], s)
		}
	}
	switch {
	case *header && *perByte:
		fmt.Println("| input | program | wall (median) | CPU user+sys (median) | peak RSS (median) | peak RSS / input byte |")
		fmt.Println("|---|---|---:|---:|---:|---:|")
	case *header:
		fmt.Println("| input | program | wall (median) | CPU user+sys (median) | peak RSS (median) | wall / floor | RSS / floor |")
		fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	}
	floor := median(samples[0], func(s sample) float64 { return float64(s.wall) })
	floorRSS := median(samples[0], func(s sample) float64 { return float64(s.rssKB) })
	for i, name := range names {
		wall := median(samples[i], func(s sample) float64 { return float64(s.wall) })
		cpu := median(samples[i], func(s sample) float64 { return float64(s.cpu) })
		rss := median(samples[i], func(s sample) float64 { return float64(s.rssKB) })
		row := fmt.Sprintf("| %s | %s | %s | %s | %.0f MiB |", *label, name, round(time.Duration(wall)), round(time.Duration(cpu)), rss/1024)
		if *perByte {
			fmt.Printf("%s %.2f |\n", row, rss*1024/float64(info.Size()))
		} else {
			fmt.Printf("%s %.2f | %.2f |\n", row, wall/floor, rss/floorRSS)
		}
	}
}

// runOnce runs a command with the input file as its stdin, discarding
// stdout, and measures it; it must exit with code want. The child reads
// the file itself: Go starts children with vfork, and at exec Linux counts
// the parent's peak RSS into the child's Maxrss, so a parent holding the
// input would show in every row (small inputs most).
func runOnce(argv []string, input string, want int) (sample, error) {
	in, err := os.Open(input)
	if err != nil {
		return sample{}, err
	}
	defer in.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == want:
	case err != nil:
		return sample{}, fmt.Errorf("%v: %s", err, stderr.Bytes())
	case want != 0:
		return sample{}, fmt.Errorf("exit code 0, want %d", want)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, rssKB: ru.Maxrss}, nil
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}
