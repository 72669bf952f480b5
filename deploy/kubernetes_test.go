// Package deploy_test checks the deployment files: deploy/kubernetes and
// docker-compose.yml. No cluster and no Docker engine run where casehub is
// tested (and kubeconform would fetch its schemas at run time), so the tests
// decode every Kubernetes object strictly into the Kubernetes API's Go types,
// as the API server would, load the compose file with compose-go, as Docker
// Compose does, and hold the objects to each other. That every casehub
// command, flag and variable in them is the binary's, and every probe asks a
// port and path the binary serves, is checked in cmd/casehub
// (kubernetes_test.go, compose_test.go).
package deploy_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

const kubernetesDir = "kubernetes"

// kubernetesKinds are the kinds the manifests may hold; another is an error.
var kubernetesKinds = map[schema.GroupVersionKind]func() any{
	corev1.SchemeGroupVersion.WithKind("Namespace"):             func() any { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):             func() any { return &corev1.ConfigMap{} },
	corev1.SchemeGroupVersion.WithKind("Service"):               func() any { return &corev1.Service{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            func() any { return &appsv1.Deployment{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):                  func() any { return &batchv1.Job{} },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"): func() any { return &policyv1.PodDisruptionBudget{} },
}

// decodeStrictly decodes one YAML document into the Go type of its kind:
// an unknown kind, an unknown or misspelt field, a duplicate key or a value
// of the wrong type is an error.
func decodeStrictly(doc []byte) (any, error) {
	js, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return nil, err
	}
	newObj, ok := kubernetesKinds[tm.GroupVersionKind()]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q of apiVersion %q", tm.Kind, tm.APIVersion)
	}
	obj := newObj()
	strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %v", tm.Kind, strict)
	}
	return obj, nil
}

// kubernetesObjects are the decoded objects of deploy/kubernetes.
type kubernetesObjects struct {
	namespaces  []*corev1.Namespace
	configMaps  map[string]*corev1.ConfigMap
	services    []*corev1.Service
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	pdbs        []*policyv1.PodDisruptionBudget
}

func readManifests(t *testing.T) kubernetesObjects {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.y*ml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	objs := kubernetesObjects{configMaps: map[string]*corev1.ConfigMap{}}
	seen := map[string]string{}
	for _, file := range files {
		f, err := os.Open(file)
		require.NoError(t, err)
		r := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for n := 1; ; n++ {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, file)
			if js, err := sigsyaml.YAMLToJSON(doc); err == nil && string(js) == "null" {
				continue // comments only
			}
			obj, err := decodeStrictly(doc)
			require.NoError(t, err, "%s, document %d", filepath.Base(file), n)

			var meta metav1.ObjectMeta
			switch o := obj.(type) {
			case *corev1.Namespace:
				objs.namespaces, meta = append(objs.namespaces, o), o.ObjectMeta
			case *corev1.ConfigMap:
				objs.configMaps[o.Name], meta = o, o.ObjectMeta
			case *corev1.Service:
				objs.services, meta = append(objs.services, o), o.ObjectMeta
			case *appsv1.Deployment:
				objs.deployments, meta = append(objs.deployments, o), o.ObjectMeta
			case *batchv1.Job:
				objs.jobs, meta = append(objs.jobs, o), o.ObjectMeta
			case *policyv1.PodDisruptionBudget:
				objs.pdbs, meta = append(objs.pdbs, o), o.ObjectMeta
			}
			id := fmt.Sprintf("%T %s", obj, meta.Name)
			require.NotEmpty(t, meta.Name, "%s: every object is named", file)
			require.NotContains(t, seen, id, "%s: %s is also in %s", file, id, seen[id])
			seen[id] = file
			if _, ok := obj.(*corev1.Namespace); !ok {
				require.Equal(t, "casehub", meta.Namespace, "%s: %s names its namespace", file, id)
			}
		}
		require.NoError(t, f.Close())
	}
	return objs
}

// Every object decodes strictly into its Kubernetes type, and a manifest
// with a field Kubernetes does not know, or a kind the tests do not know, is
// refused.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	objs := readManifests(t)
	require.Len(t, objs.deployments, 2)
	require.Len(t, objs.pdbs, 2)
	require.Len(t, objs.jobs, 1)
	require.Len(t, objs.services, 1)

	for doc, want := range map[string]string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n":    `unknown field "spec.replica"`,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {Replicas: 2}\n":   `unknown field "spec.Replicas"`,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n": "cannot unmarshal",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, name: y}\n":                     `key "name" already set`,
		"apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: x}\n":                   "unknown kind",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n":                                 "unknown kind",
	} {
		_, err := decodeStrictly([]byte(doc))
		require.ErrorContains(t, err, want, doc)
	}
}

// The objects hang together: selectors select what they are for, every
// Deployment has a disruption budget that lets a node drain, and every pod
// runs as the restricted Pod Security profile asks, with resources set.
func TestKubernetesManifestsHangTogether(t *testing.T) {
	objs := readManifests(t)
	pods := map[string]corev1.PodTemplateSpec{}
	for _, d := range objs.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		require.NoError(t, err)
		require.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "%s selects its own pods", d.Name)
		require.GreaterOrEqual(t, *d.Spec.Replicas, int32(2), "%s survives losing a pod", d.Name)
		pods["Deployment "+d.Name] = d.Spec.Template
	}
	for _, j := range objs.jobs {
		pods["Job "+j.Name] = j.Spec.Template
	}
	selected := func(sel labels.Selector) []string {
		var out []string
		for name, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				out = append(out, name)
			}
		}
		return out
	}

	budgeted := map[string]bool{}
	for _, pdb := range objs.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		require.NoError(t, err)
		got := selected(sel)
		require.Len(t, got, 1, "PodDisruptionBudget %s selects one Deployment's pods", pdb.Name)
		require.True(t, strings.HasPrefix(got[0], "Deployment "), "PodDisruptionBudget %s selects %s", pdb.Name, got[0])
		d := deploymentNamed(t, objs, strings.TrimPrefix(got[0], "Deployment "))
		budgeted[d.Name] = true
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			require.Greater(t, pdb.Spec.MaxUnavailable.IntValue(), 0, "%s lets a node drain", pdb.Name)
		case pdb.Spec.MinAvailable != nil:
			require.Less(t, int32(pdb.Spec.MinAvailable.IntValue()), *d.Spec.Replicas, "%s lets a node drain", pdb.Name)
		default:
			t.Fatalf("PodDisruptionBudget %s sets neither maxUnavailable nor minAvailable", pdb.Name)
		}
	}
	for _, d := range objs.deployments {
		require.True(t, budgeted[d.Name], "Deployment %s has a PodDisruptionBudget", d.Name)
	}

	for _, svc := range objs.services {
		got := selected(labels.SelectorFromSet(svc.Spec.Selector))
		require.Len(t, got, 1, "Service %s selects one Deployment's pods", svc.Name)
		p := pods[got[0]]
		for _, port := range svc.Spec.Ports {
			_, ok := containerPort(p.Spec.Containers, port.TargetPort)
			require.True(t, ok, "Service %s's port %s targets a port of %s", svc.Name, port.Name, got[0])
		}
	}

	for name, p := range pods {
		spec := p.Spec
		require.NotNil(t, spec.SecurityContext, name)
		require.True(t, ptrTrue(spec.SecurityContext.RunAsNonRoot), "%s runs as non-root", name)
		require.NotZero(t, ptrInt(spec.SecurityContext.RunAsUser), "%s runs as a numbered user", name)
		require.NotNil(t, spec.SecurityContext.SeccompProfile, name)
		require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, spec.SecurityContext.SeccompProfile.Type, name)
		for _, c := range spec.Containers {
			id := name + " container " + c.Name
			require.Equal(t, casehubImage, c.Image, id)
			sc := c.SecurityContext
			require.NotNil(t, sc, id)
			require.True(t, ptrTrue(sc.ReadOnlyRootFilesystem), "%s has a read-only root filesystem", id)
			require.False(t, sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation, "%s: no privilege escalation", id)
			require.NotNil(t, sc.Capabilities, id)
			require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, id)
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				require.Contains(t, c.Resources.Requests, r, "%s requests %s", id, r)
				require.Contains(t, c.Resources.Limits, r, "%s limits %s", id, r)
				request, limit := c.Resources.Requests[r], c.Resources.Limits[r]
				require.True(t, request.Cmp(limit) <= 0, "%s: %s request within its limit", id, r)
			}
			for _, e := range c.EnvFrom {
				require.NotNil(t, e.ConfigMapRef, "%s takes settings from ConfigMaps only (secrets key by key)", id)
				require.Contains(t, objs.configMaps, e.ConfigMapRef.Name, id)
			}
		}
	}
}

// The Secret is not in the manifests: every key they read from it is in
// the README's command that creates it.
func TestKubernetesSecretKeysAreDocumented(t *testing.T) {
	objs := readManifests(t)
	readme, err := os.ReadFile(filepath.Join(kubernetesDir, "README.md"))
	require.NoError(t, err)
	for _, p := range podTemplates(objs) {
		for _, c := range p.spec.Containers {
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					require.Contains(t, string(readme), "create secret generic "+ref.SecretKeyRef.Name, p.name)
					require.Regexp(t, `--from-(literal|file)=`+ref.SecretKeyRef.Key+`=`, string(readme), "%s: document the Secret's %s", p.name, ref.SecretKeyRef.Key)
				}
			}
		}
		for _, v := range p.spec.Volumes {
			if v.Secret != nil {
				require.Contains(t, string(readme), "create secret generic "+v.Secret.SecretName, p.name)
				for _, item := range v.Secret.Items {
					require.Regexp(t, `--from-(literal|file)=`+item.Key+`=`, string(readme), "%s: document the Secret's %s", p.name, item.Key)
				}
			}
		}
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

func deploymentNamed(t *testing.T, objs kubernetesObjects, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range objs.deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
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

func ptrTrue(b *bool) bool { return b != nil && *b }

func ptrInt(i *int64) int64 {
	if i == nil {
		return 0
	}
	return *i
}
