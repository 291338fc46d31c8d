package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------------------------
// Images are pinned.

func TestEveryImageIsPinned(t *testing.T) {
	c := loadCompose(t)
	for _, name := range c.names() {
		s := c.Services[name]
		switch {
		case s.Image != "":
			if err := checkPinned(s.Image); err != nil {
				t.Errorf("compose service %s: %v", name, err)
			}
		case s.Build == nil:
			t.Errorf("compose service %s has neither image nor build", name)
		}
	}

	froms := dockerfileFroms(t, dockerfile)
	if len(froms) < 2 {
		t.Errorf("%s: want a build stage and a runtime stage, found FROM %v", dockerfile, froms)
	}
	for _, ref := range froms {
		if err := checkPinned(ref); err != nil {
			t.Errorf("%s: FROM %s: %v", dockerfile, ref, err)
		}
	}

	k := loadKustomization(t)
	overrides := map[string]kustomizeImage{}
	for _, im := range k.Images {
		overrides[im.Name] = im
		if im.NewTag == "" && im.Digest == "" {
			t.Errorf("%s: images entry %s sets neither newTag nor digest", kustomYML, im.Name)
		}
		if im.NewTag != "" {
			if err := checkPinned(im.Name + ":" + im.NewTag); err != nil {
				t.Errorf("%s: images entry %s: %v", kustomYML, im.Name, err)
			}
		}
	}
	for _, obj := range kubeObjects(t) {
		for _, ref := range podImages(obj.doc) {
			if err := checkPinned(ref); err != nil {
				t.Errorf("%s: %s/%s: %v", obj.file, obj.kind(), obj.name(), err)
			}
			name := ref
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				name = ref[:i]
			}
			if im, ok := overrides[name]; ok && im.NewTag != "" {
				if err := checkPinned(name + ":" + im.NewTag); err != nil {
					t.Errorf("%s: %s after kustomize images: %v", obj.file, ref, err)
				}
			}
		}
	}
}

func TestImageVersionsMatchTheModuleGraph(t *testing.T) {
	// The SpiceDB images must run the version whose command tree these tests check, the
	// version go.mod links into accessctl.
	if v := linkedModuleVersion(t, spicedbModule); v != spicedbVersion {
		t.Fatalf("go.mod links %s %s but the deployment files and this test target %s: update both", spicedbModule, v, spicedbVersion)
	}
	c := loadCompose(t)
	for _, name := range c.names() {
		img := c.Services[name].Image
		switch repo, tag := splitImage(img); repo {
		case spicedbImage:
			if tag != spicedbVersion {
				t.Errorf("compose service %s runs %s, want %s:%s", name, img, spicedbImage, spicedbVersion)
			}
		case cockroachImage:
			if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(tag) {
				t.Errorf("compose service %s: %s: want an exact release tag vX.Y.Z", name, img)
			}
		case haproxyImage:
			if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
				t.Errorf("compose service %s: %s: want an exact release tag X.Y.Z", name, img)
			}
		}
	}

	goMin := goDirective(t)
	for _, ref := range dockerfileFroms(t, dockerfile) {
		if repo, tag := splitImage(ref); repo == "golang" {
			m := regexp.MustCompile(`^(\d+\.\d+\.\d+)`).FindStringSubmatch(tag)
			if m == nil {
				t.Errorf("%s: FROM %s: want an exact Go release (x.y.z)", dockerfile, ref)
				continue
			}
			if compareVersions(m[1], goMin) < 0 {
				t.Errorf("%s: FROM %s is older than go.mod's go %s", dockerfile, ref, goMin)
			}
		}
	}

	sc := spiceDBCluster(t)
	if v := str(dig(sc.doc, "spec", "version")); v != spicedbVersion {
		t.Errorf("%s: spec.version = %q, want %s", sc.file, v, spicedbVersion)
	}
}

// =============================================================================================
// Images.

var floatingTags = map[string]bool{"latest": true, "stable": true, "edge": true, "nightly": true, "main": true, "master": true, "dev": true}

// checkPinned accepts a reference with a sha256 digest, or with a tag that is not a moving
// alias like latest.
func checkPinned(ref string) error {
	if ref == "" {
		return errors.New("empty image reference")
	}
	if strings.Contains(ref, "$") {
		return fmt.Errorf("%s: image chosen by a variable is not pinned", ref)
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		return fmt.Errorf("%s: malformed digest", ref)
	}
	_, tag := splitImage(name)
	if tag == "" && !hasDigest {
		return fmt.Errorf("%s: no tag or digest (means latest)", ref)
	}
	if tag != "" && (floatingTags[strings.ToLower(tag)] || strings.Contains(strings.ToLower(tag), "latest")) {
		return fmt.Errorf("%s: tag %q moves; pin a release", ref, tag)
	}
	return nil
}

// dockerfileFroms returns the image of every FROM that is not an earlier stage.
func dockerfileFroms(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	stages := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		args := f[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:]
		}
		if len(args) == 0 {
			t.Errorf("%s: FROM without an image", path)
			continue
		}
		if !stages[strings.ToLower(args[0])] {
			out = append(out, args[0])
		}
		if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
			stages[strings.ToLower(args[2])] = true
		}
	}
	return out
}

// linkedModuleVersion is the version go.mod requires of path (test binaries carry no module
// list in their build info). A replace directive for it fails the test: the tree checked
// here would then not be the released one.
func linkedModuleVersion(t *testing.T, path string) string {
	t.Helper()
	mod := string(readFile(t, "../go.mod"))
	if regexp.MustCompile(`(?m)^\s*(replace\s+)?` + regexp.QuoteMeta(path) + `(\s+v\S+)?\s*=>`).MatchString(mod) {
		t.Fatalf("../go.mod replaces %s", path)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(v\S+)`).FindStringSubmatch(mod)
	if m == nil {
		t.Fatalf("../go.mod does not require %s", path)
	}
	return m[1]
}

func goDirective(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("../go.mod has no go directive")
	}
	return string(m[1])
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
