package ui

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// The page's colours, light and dark, keep WCAG 2 contrast: 4.5:1 for text
// on what it is drawn on, 3:1 for the focus ring against the page.
func TestColourContrast(t *testing.T) {
	css := readAsset(t, "app.css")
	blocks := regexp.MustCompile(`(?s):root \{(.*?)\n\s*\}`).FindAllStringSubmatch(css, -1)
	if len(blocks) != 2 {
		t.Fatalf("want the light and the dark :root blocks, found %d", len(blocks))
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"text", "bg", 4.5}, {"text", "card", 4.5}, {"text", "chip", 4.5},
		{"muted", "bg", 4.5}, {"muted", "card", 4.5},
		{"primary", "card", 4.5}, {"primary", "chip", 4.5}, {"primary-text", "primary", 4.5},
		{"danger", "card", 4.5}, {"danger", "bg", 4.5}, {"danger-text", "danger", 4.5},
		{"warn", "chip", 4.5},
		{"focus", "card", 3}, {"focus", "bg", 3},
	}
	light := vars(t, blocks[0][1])
	if n, d := len(light), len(vars(t, blocks[1][1])); n < 13 || d < 13 {
		t.Fatalf("read %d light and %d dark colours, want every one of the 13", n, d)
	}
	for i, scheme := range []string{"light", "dark"} {
		v := light
		if i == 1 {
			v = map[string][3]float64{}
			for k, c := range light {
				v[k] = c
			}
			for k, c := range vars(t, blocks[1][1]) {
				v[k] = c
			}
		}
		for _, p := range pairs {
			fg, ok1 := v[p.fg]
			bg, ok2 := v[p.bg]
			if !ok1 || !ok2 {
				t.Fatalf("%s: no --%s or --%s", scheme, p.fg, p.bg)
			}
			if r := contrast(fg, bg); r < p.min {
				t.Errorf("%s: --%s on --%s has contrast %.2f:1, want at least %.1f:1", scheme, p.fg, p.bg, r, p.min)
			}
		}
	}
}

func vars(t *testing.T, block string) map[string][3]float64 {
	t.Helper()
	out := map[string][3]float64{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*#([0-9a-fA-F]{6});`).FindAllStringSubmatch(block, -1) {
		var c [3]float64
		for i := range 3 {
			n, err := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			if err != nil {
				t.Fatal(err)
			}
			c[i] = float64(n) / 255
		}
		out[m[1]] = c
	}
	return out
}

// contrast is WCAG 2's contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}
