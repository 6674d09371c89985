package transformer

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
)

// The API server's defaults for the items the engine injects, as of
// Kubernetes 1.36: SetDefaults_* in pkg/apis/core/v1/defaults.go and the
// +default markers of k8s.io/api/core/v1. Fingerprints hash items with these
// applied, so that an item read back from the API server fingerprints as the
// item that was written (e2e/fingerprint_test.go checks this against a real
// kube-apiserver). Two pod-level defaults are folded into every container,
// since a template does not know its pod: requests default to limits, and a
// host port equal to the container port counts as unset (hostNetwork pods
// get it by default).

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.HostPort == p.ContainerPort {
			p.HostPort = 0
		}
	}
	r := &c.Resources
	if len(r.Limits) > 0 {
		if r.Requests == nil {
			r.Requests = corev1.ResourceList{}
		}
		for k, v := range r.Limits {
			if _, ok := r.Requests[k]; !ok {
				r.Requests[k] = v.DeepCopy()
			}
		}
	}
	roundUpToMilli(r.Limits)
	roundUpToMilli(r.Requests)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	if l := c.Lifecycle; l != nil {
		defaultHandler(l.PostStart)
		defaultHandler(l.PreStop)
	}
	for i := range c.Env {
		defaultEnvVar(&c.Env[i])
	}
}

func roundUpToMilli(l corev1.ResourceList) {
	for k, v := range l {
		v.RoundUp(apiresource.Milli)
		l[k] = v
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		empty := ""
		p.GRPC.Service = &empty
	}
}

func defaultHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultEnvVar(e *corev1.EnvVar) {
	if e.ValueFrom == nil {
		return
	}
	defaultFieldRef(e.ValueFrom.FieldRef)
	if f := e.ValueFrom.FileKeyRef; f != nil && f.Optional == nil {
		no := false
		f.Optional = &no
	}
}

func defaultFieldRef(f *corev1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

func defaultVolume(v *corev1.Volume) {
	s := &v.VolumeSource
	if allPointersNil(s) {
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	mode := func(m **int32, def int32) {
		if *m == nil {
			*m = &def
		}
	}
	if s.Secret != nil {
		mode(&s.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if s.ConfigMap != nil {
		mode(&s.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if d := s.DownwardAPI; d != nil {
		mode(&d.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		for i := range d.Items {
			defaultFieldRef(d.Items[i].FieldRef)
		}
	}
	if p := s.Projected; p != nil {
		mode(&p.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for i := range p.Sources {
			if t := p.Sources[i].ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				hour := int64(3600)
				t.ExpirationSeconds = &hour
			}
			if d := p.Sources[i].DownwardAPI; d != nil {
				for j := range d.Items {
					defaultFieldRef(d.Items[j].FieldRef)
				}
			}
		}
	}
	if h := s.HostPath; h != nil && h.Type == nil {
		unset := corev1.HostPathUnset
		h.Type = &unset
	}
	if img := s.Image; img != nil && img.PullPolicy == "" {
		if imageTag(img.Reference) == "latest" {
			img.PullPolicy = corev1.PullAlways
		} else {
			img.PullPolicy = corev1.PullIfNotPresent
		}
	}
	if e := s.Ephemeral; e != nil && e.VolumeClaimTemplate != nil && e.VolumeClaimTemplate.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		e.VolumeClaimTemplate.Spec.VolumeMode = &fs
	}
	defaultLegacyVolume(s)
}

// defaultLegacyVolume applies the +default markers of in-tree volume types
// that Kubernetes still serves.
func defaultLegacyVolume(s *corev1.VolumeSource) {
	setStr := func(p *string, def string) {
		if *p == "" {
			*p = def
		}
	}
	if r := s.RBD; r != nil {
		setStr(&r.RBDPool, "rbd")
		setStr(&r.RadosUser, "admin")
		setStr(&r.Keyring, "/etc/ceph/keyring")
	}
	if i := s.ISCSI; i != nil {
		setStr(&i.ISCSIInterface, "default")
	}
	if a := s.AzureDisk; a != nil {
		if a.CachingMode == nil {
			m := corev1.AzureDataDiskCachingReadWrite
			a.CachingMode = &m
		}
		if a.FSType == nil {
			fs := "ext4"
			a.FSType = &fs
		}
		if a.ReadOnly == nil {
			no := false
			a.ReadOnly = &no
		}
		if a.Kind == nil {
			k := corev1.AzureSharedBlobDisk
			a.Kind = &k
		}
	}
	if sc := s.ScaleIO; sc != nil {
		setStr(&sc.StorageMode, "ThinProvisioned")
		setStr(&sc.FSType, "xfs")
	}
}

// allPointersNil reports whether every field of a struct of pointers is nil
// (a volume that names no source gets an emptyDir).
func allPointersNil(s *corev1.VolumeSource) bool {
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}
