package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Metric is one row of the table: casehub against its bare Temporal
// counterpart where there is one, and the target it is held to.
type Metric struct {
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	Unit    string   `json:"unit"`
	Casehub *float64 `json:"casehub,omitempty"`
	Bare    *float64 `json:"bare,omitempty"`
	// Ratio is casehub/bare; with blocks, the median of the per-block ratios
	// and their range.
	Ratio  *Spread `json:"ratio,omitempty"`
	Target *Target `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
	// PerWorker is each worker's value where Casehub is their sum (the
	// workers' RSS with more than one worker).
	PerWorker []float64 `json:"per_worker,omitempty"`
	// Count: the value is a count, shown as a whole number.
	Count bool `json:"count,omitempty"`
	// Available is false when the measurement could not run; Note says why.
	// On an available value, Note qualifies it (shown beside its name).
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
}

// Target is a bound on the ratio or on casehub's own value.
type Target struct {
	OnRatio bool    `json:"on_ratio"`
	Op      string  `json:"op"` // ">=", "<=", "<"
	Value   float64 `json:"value"`
}

func (t Target) String() string {
	what := ""
	if t.OnRatio {
		what = "ratio "
	}
	return fmt.Sprintf("%s%s %s", what, t.Op, trim(t.Value))
}

// met says whether m meets its target; nil without a target or a value.
func (m Metric) met() *bool {
	if m.Target == nil || !m.Available {
		return nil
	}
	var v float64
	switch {
	case m.Target.OnRatio && m.Ratio != nil:
		v = m.Ratio.Median
	case !m.Target.OnRatio && m.Casehub != nil:
		v = *m.Casehub
	default:
		return nil
	}
	var ok bool
	switch m.Target.Op {
	case ">=":
		ok = v >= m.Target.Value
	case "<=":
		ok = v <= m.Target.Value
	case "<":
		ok = v < m.Target.Value
	default:
		return nil
	}
	return &ok
}

func f(v float64) *float64 { return &v }

func trim(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// WriteTable prints the results as a markdown table with the machine and
// the dev server's settings above it.
func WriteTable(w io.Writer, r Results) {
	m := r.Machine
	fmt.Fprintf(w, "## casehub bench %s: %s\n\n", r.RunID, r.Setup)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %.1f GiB memory, %s, %s/%s\n", m.NumCPU, m.CPUModel, m.MemoryGiB, m.GoVersion, m.OS, m.Arch)
	fmt.Fprintf(w, "temporal: %s\n", r.Server.Describe())
	fmt.Fprintf(w, "worker: %s\n", r.WorkerMode)
	if r.Options.Workers > 1 {
		fmt.Fprintf(w, "with %d workers: the CPU and RSS figures are sums over them (each one's RSS in brackets), the SDK metrics pooled\n", r.Options.Workers)
	}
	if r.Options.NoCodec {
		fmt.Fprintln(w, "payloads: casehub's in clear (--no-codec); the bare side's always are")
	} else {
		fmt.Fprintln(w, "payloads: casehub's sealed with AES-256-GCM (package codec), as in production; the bare side's in clear")
	}
	fmt.Fprintf(w, "sizes: concurrency %d, %d calls/block, %d blocks, %d step samples/block, %d dispatch samples, %d each of calls, chats and agent-first callbacks answered at once, %d customer-first callbacks answered, %d scheduled callbacks, scale %d callbacks + %d interactions, GETs %d/s for %s\n\n",
		r.Options.Concurrency, r.Options.Calls, r.Options.Blocks, r.Options.StepSamples, r.Options.DispatchSamples,
		r.Options.AnswerSamples, r.Options.ReservedCallbacks,
		r.Options.ScheduledCallbacks, r.Options.OpenCallbacks, r.Options.OpenInteractions, r.Options.GetRate, r.Options.GetDuration)
	fmt.Fprintln(w, "| metric | casehub | bare | ratio | target | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, x := range r.Metrics {
		num := trim
		if x.Count {
			num = func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
		}
		cell := func(p *float64) string {
			if p == nil {
				return "–"
			}
			return num(*p) + " " + x.Unit
		}
		ch, bare, rat, tgt, met := cell(x.Casehub), cell(x.Bare), "–", "–", "–"
		if x.Ratio != nil {
			rat = trim(x.Ratio.Median) + "×"
			if x.Ratio.N > 1 {
				rat += fmt.Sprintf(" (%s–%s)", trim(x.Ratio.Min), trim(x.Ratio.Max))
			}
		}
		if x.Target != nil {
			tgt = x.Target.String()
			if x.Count && !x.Target.OnRatio {
				tgt = x.Target.Op + " " + num(x.Target.Value)
			} else if !x.Target.OnRatio {
				tgt += " " + x.Unit
			}
		}
		if x.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*x.Met]
		}
		if !x.Available {
			ch = x.Note
		}
		name := x.Name
		if x.Available && x.Note != "" {
			name += " (" + x.Note + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, ch, bare, rat, tgt, met)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "count checks (accepted = database rows = found in Temporal):")
	for _, c := range r.Counts {
		fmt.Fprintln(w, "  "+c.String())
	}
	if len(r.CPU) > 0 {
		fmt.Fprintln(w, "\nCPU seconds by process during each arm (where the time goes):")
		for _, c := range r.CPU {
			fmt.Fprintf(w, "  %-28s %s\n", c.Arm, c.String())
		}
	}
	if len(r.WorkerMetrics) > 0 {
		if r.Options.Workers > 1 {
			fmt.Fprintf(w, "\ncasehub workers (Temporal SDK metrics of the %d summed, means over all of them, whole run):\n", r.Options.Workers)
		} else {
			fmt.Fprintln(w, "\ncasehub worker (Temporal SDK metrics, whole run):")
		}
		for _, s := range r.WorkerMetrics {
			fmt.Fprintln(w, "  "+s)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

// Machine is where the bench ran.
type Machine struct {
	NumCPU    int     `json:"nproc"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	GoVersion string  `json:"go_version"`
	OS        string  `json:"os"`
	Arch      string  `json:"arch"`
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUModel: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPUModel = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseFloat(strings.Fields(v)[0], 64); err == nil {
			m.MemoryGiB = math.Round(kb/1024/1024*10) / 10
		}
	}
	return m
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
