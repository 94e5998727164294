package startclock

import (
	"strconv"
	"testing"
	"time"
)

func TestHandoverCarriesTheStart(t *testing.T) {
	env := []string{"HOME=/h", Env + "=1", "LANG=C.UTF-8"}
	got := Handover(env)
	want := Env + "=" + prefix + strconv.FormatInt(start.UnixNano(), 10)
	if len(got) != 3 || got[0] != env[0] || got[1] != want || got[2] != env[2] {
		t.Fatalf("Handover(%q) = %q, want the probe's variable to carry %s", env, got, want)
	}
	if got := Handover([]string{"HOME=/h"}); len(got) != 1 || got[0] != "HOME=/h" {
		t.Fatalf("without the probe Handover changed the environment: %q", got)
	}
}

func TestStartTakesAHandedOverTime(t *testing.T) {
	earlier := start.Add(-12 * time.Millisecond)
	for _, c := range []struct {
		value string
		want  time.Time
	}{
		{"1", start},
		{"", start},
		{prefix + strconv.FormatInt(earlier.UnixNano(), 10), earlier},
		{prefix + strconv.FormatInt(start.Add(time.Second).UnixNano(), 10), start},    // after this process began
		{prefix + strconv.FormatInt(start.Add(-2*time.Minute).UnixNano(), 10), start}, // not a moment ago
		{prefix + "soon", start},
	} {
		t.Setenv(Env, c.value)
		if got := Start(); !got.Equal(c.want) {
			t.Errorf("%s=%q: Start %v, want %v", Env, c.value, got, c.want)
		}
	}
}
