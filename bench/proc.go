package bench

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// workersRSS is the casehub workers' resident memory: the sum, and each
// worker's.
type workersRSS struct {
	Sum  float64
	Each []float64
}

// readRSS reads each process's RSS.
func readRSS(pids []int) (workersRSS, error) {
	var r workersRSS
	for _, pid := range pids {
		v, err := rssMB(pid)
		if err != nil {
			return workersRSS{}, err
		}
		r.Sum += v
		r.Each = append(r.Each, v)
	}
	return r, nil
}

// rssMB is a process's resident set (VmRSS in /proc/<pid>/status) in MB.
func rssMB(pid int) (float64, error) {
	v := procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return 0, fmt.Errorf("no VmRSS for process %d", pid)
	}
	kb, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("VmRSS of process %d: %w", pid, err)
	}
	return kb / 1024, nil
}

// clockTicks is USER_HZ, 100 on every Linux the bench runs on.
const clockTicks = 100

// procStat reads a process's name, parent and CPU seconds (user+system).
func procStat(pid int) (name string, ppid int, cpu float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	name = s[open+1 : closing]
	fields := strings.Fields(s[closing+1:]) // fields[0] is state (field 3)
	if len(fields) < 13 {
		return "", 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return name, ppid, (utime + stime) / clockTicks, nil
}

// cpuSample is CPU seconds used so far by each part of the system: this
// process (API, simulator, bench drivers, bare worker), the casehub workers
// when they are children (summed), the Temporal dev server or cluster
// services when we started them (summed), and PostgreSQL (every postgres
// process on the machine).
type cpuSample map[string]float64

// cpuParts says which processes sampleCPU counts as what.
type cpuParts struct {
	workers     map[int]bool // the casehub workers' pids
	workerKey   string       // "worker", or "workers (sum of N)"
	temporalKey string       // "temporal", or "temporal (sum of N services)"
}

func (s *system) cpuParts() cpuParts {
	p := cpuParts{workers: map[int]bool{}, workerKey: "worker", temporalKey: "temporal"}
	for _, pid := range s.workerPIDs {
		p.workers[pid] = true
	}
	if n := len(s.workerPIDs); n > 1 {
		p.workerKey = fmt.Sprintf("workers (sum of %d)", n)
	}
	if s.server.Kind == ServerCluster {
		p.temporalKey = fmt.Sprintf("temporal (sum of %d services)", len(s.server.Services))
	}
	return p
}

func (s *system) sampleCPU() cpuSample { return sampleCPU(s.cpuParts()) }

func sampleCPU(parts cpuParts) cpuSample {
	self := os.Getpid()
	out := cpuSample{}
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		name, ppid, cpu, err := procStat(pid)
		if err != nil {
			continue
		}
		switch {
		case pid == self:
			out["bench+api+bare"] += cpu
		case parts.workers[pid]:
			out[parts.workerKey] += cpu
		case ppid == self && strings.HasPrefix(name, "temporal"):
			// The dev server ("temporal") or the cluster's services ("temporal-server").
			out[parts.temporalKey] += cpu
		case strings.HasPrefix(name, "postgres"):
			// Backends that exit take their CPU time with them: a lower bound.
			out["postgres (live backends)"] += cpu
		}
	}
	return out
}

// CPUUse is the CPU seconds each part used during one arm.
type CPUUse struct {
	Arm     string             `json:"arm"`
	Seconds float64            `json:"wall_seconds"`
	CPU     map[string]float64 `json:"cpu_seconds"`
}

func cpuUse(arm string, wall float64, before, after cpuSample) CPUUse {
	u := CPUUse{Arm: arm, Seconds: wall, CPU: map[string]float64{}}
	for k, v := range after {
		u.CPU[k] = max(0, v-before[k])
	}
	return u
}

func (u CPUUse) String() string {
	keys := make([]string, 0, len(u.CPU))
	for k := range u.CPU {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1fs", k, u.CPU[k]))
	}
	return fmt.Sprintf("wall %.1fs: %s", u.Seconds, strings.Join(parts, ", "))
}

// busy is the share of the machine's CPU time, over an arm's wall time,
// that the processes sampleCPU counts took (PostgreSQL's live backends
// only, so its part is a lower bound), with each process's share in the
// note, largest first.
func busy(key, name string, u CPUUse, cpus int) Metric {
	switch {
	case cpus <= 0:
		return Metric{Key: key, Name: name, Unit: "%", Note: "no CPU count"}
	case u.Seconds <= 0:
		return Metric{Key: key, Name: name, Unit: "%", Note: "no wall time"}
	case len(u.CPU) == 0:
		return Metric{Key: key, Name: name, Unit: "%", Note: "no CPU time was sampled"}
	}
	total := u.Seconds * float64(cpus)
	keys := make([]string, 0, len(u.CPU))
	var sum float64
	for k, v := range u.CPU {
		keys = append(keys, k)
		sum += v
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(u.CPU[b], u.CPU[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s %%", k, trim(100*u.CPU[k]/total))
	}
	of := fmt.Sprintf("%d CPUs", cpus)
	if cpus == 1 {
		of = "1 CPU"
	}
	return Metric{Key: key, Name: name, Unit: "%", Casehub: f(100 * sum / total), Available: true,
		Note: fmt.Sprintf("%s, of %s for %s s", strings.Join(parts, ", "), of, trim(u.Seconds))}
}
