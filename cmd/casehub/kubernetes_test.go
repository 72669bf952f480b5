package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// deploy/kubernetes held to the binary. deploy/kubernetes_test.go decodes
// the same objects strictly and checks them against each other.

// kubernetesObjects are the objects of deploy/kubernetes that run casehub
// and configure it.
type kubernetesObjects struct {
	configMaps  map[string]*corev1.ConfigMap
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
}

func readManifests(t *testing.T) kubernetesObjects {
	t.Helper()
	files, err := filepath.Glob("../../deploy/kubernetes/*.y*ml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	objs := kubernetesObjects{configMaps: map[string]*corev1.ConfigMap{}}
	for _, file := range files {
		f, err := os.Open(file)
		require.NoError(t, err)
		r := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, file)
			var tm metav1.TypeMeta
			require.NoError(t, sigsyaml.Unmarshal(doc, &tm), file)
			switch tm.Kind {
			case "ConfigMap":
				var cm corev1.ConfigMap
				require.NoError(t, sigsyaml.Unmarshal(doc, &cm), file)
				objs.configMaps[cm.Name] = &cm
			case "Deployment":
				var d appsv1.Deployment
				require.NoError(t, sigsyaml.Unmarshal(doc, &d), file)
				objs.deployments = append(objs.deployments, &d)
			case "Job":
				var j batchv1.Job
				require.NoError(t, sigsyaml.Unmarshal(doc, &j), file)
				objs.jobs = append(objs.jobs, &j)
			}
		}
		require.NoError(t, f.Close())
	}
	require.NotEmpty(t, objs.deployments)
	return objs
}

// Each container runs a casehub command that parses with the binary's flags,
// is given only settings it reads, is probed where it listens for paths it
// serves, finds its payload keys where they are mounted, and stops within
// its pod's grace period.
func TestKubernetesManifestsMatchTheBinary(t *testing.T) {
	objs := readManifests(t)
	for _, p := range podTemplates(objs) {
		t.Run(p.name, func(t *testing.T) {
			require.Len(t, p.spec.Containers, 1)
			c := p.spec.Containers[0]
			require.Empty(t, c.Command, "the image's entrypoint is casehub")
			env := containerEnv(t, objs, c)
			checkCommand(t, "deploy/kubernetes", c.Args, env)

			if keyFile := env["CASEHUB_CODEC_KEY_FILE"]; keyFile != "" {
				require.True(t, mountsSecretFile(p.spec, c, keyFile), "%s: %s is a file of a mounted Secret", p.name, keyFile)
			}
			if p.kind != "Deployment" {
				return
			}

			require.NotNil(t, c.ReadinessProbe, "%s has a readiness probe", p.name)
			require.NotNil(t, c.LivenessProbe, "%s has a liveness probe", p.name)
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, "%s: ready when it can work", p.name)
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, "%s: alive while it serves", p.name)
			_, listen, err := net.SplitHostPort(listenAddr(t, c.Args, env))
			require.NoError(t, err)
			for _, probe := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
				if probe == nil {
					continue
				}
				require.NotNil(t, probe.HTTPGet, p.name)
				port, ok := containerPort(p.spec.Containers, probe.HTTPGet.Port)
				require.True(t, ok, "%s probes port %s, which its container declares", p.name, probe.HTTPGet.Port.String())
				require.Equal(t, listen, strconv.Itoa(int(port)), "%s probes the port casehub %s listens on", p.name, c.Args[0])
				require.True(t, serves(t, c.Args, probe.HTTPGet.Path), "casehub %s serves %s", c.Args[0], probe.HTTPGet.Path)
			}

			// Stopping takes the preStop pause, then at most the shutdown
			// timeout (the API's server, the worker's stop).
			getenv := func(k string) string { return env[k] }
			var cfg *config
			switch c.Args[0] {
			case "api":
				cfg, err = apiConfig(c.Args[1:], getenv)
			case "worker":
				cfg, err = workerConfig(c.Args[1:], getenv)
			default:
				t.Fatalf("a Deployment of casehub %s", c.Args[0])
			}
			require.NoError(t, err)
			stop := cfg.ShutdownTimeout
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
				require.NotNil(t, c.Lifecycle.PreStop.Sleep, "%s: the image has no shell, so preStop sleeps", p.name)
				stop += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
			require.NotNil(t, p.spec.TerminationGracePeriodSeconds, p.name)
			grace := time.Duration(*p.spec.TerminationGracePeriodSeconds) * time.Second
			require.Greater(t, grace, stop, "%s: terminationGracePeriodSeconds longer than a graceful stop", p.name)
		})
	}
}

type podTemplate struct {
	kind, name string
	spec       corev1.PodSpec
}

func podTemplates(objs kubernetesObjects) []podTemplate {
	var out []podTemplate
	for _, d := range objs.deployments {
		out = append(out, podTemplate{"Deployment", d.Name, d.Spec.Template.Spec})
	}
	for _, j := range objs.jobs {
		out = append(out, podTemplate{"Job", j.Name, j.Spec.Template.Spec})
	}
	return out
}

// containerEnv is the environment a container starts with: its ConfigMaps'
// keys, then its own variables; a Secret's value is a stand-in.
func containerEnv(t *testing.T, objs kubernetesObjects, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		require.NotNil(t, from.ConfigMapRef, c.Name)
		cm, ok := objs.configMaps[from.ConfigMapRef.Name]
		require.True(t, ok, "%s: ConfigMap %s", c.Name, from.ConfigMapRef.Name)
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret-" + e.ValueFrom.SecretKeyRef.Key
		default:
			t.Fatalf("%s: %s comes from neither a value nor a Secret", c.Name, e.Name)
		}
	}
	return env
}

// containerPort resolves a probe's or a Service's port (a number or a
// port's name) to a port the containers declare.
func containerPort(containers []corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, c := range containers {
		for _, cp := range c.Ports {
			if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// mountsSecretFile reports whether file is an item of a Secret volume that c
// mounts.
func mountsSecretFile(spec corev1.PodSpec, c corev1.Container, file string) bool {
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, item := range v.Secret.Items {
				if path.Join(m.MountPath, item.Path) == file {
					return true
				}
			}
		}
	}
	return false
}
