package app

import (
	"image/color"
	"math"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// The window's default size fits a 1024×768 screen with room for the desktop's title bar;
// every screen's minimum size fits it too (layout_test.go).
var defaultWindowSize = fyne.NewSize(1024, 720)

// roomTheme is Fyne's theme with two changes for a ceremony room: the focus is drawn in a
// strong amber that no other element uses (and the app draws a thick ring around the focused
// widget, layout.go), and every size scales with the window, so that text on a 1920×1080 or
// 4K screen grows instead of staying 14 px tall in a sea of grey. The scale depends only on
// the window's size in Fyne units, so it composes with FYNE_SCALE rather than replacing it.
type roomTheme struct {
	base  fyne.Theme
	scale atomic.Uint32 // math.Float32bits of the factor
}

func newRoomTheme(base fyne.Theme) *roomTheme {
	t := &roomTheme{base: base}
	t.scale.Store(math.Float32bits(1))
	return t
}

// focusAmber marks the focused widget: a colour no button, text or status uses.
var focusAmber = color.NRGBA{R: 0xff, G: 0xb0, B: 0x00, A: 0xff}

// Factor is the size factor in use.
func (t *roomTheme) Factor() float32 { return math.Float32frombits(t.scale.Load()) }

// setFactor sets the factor; it reports whether it changed.
func (t *roomTheme) setFactor(f float32) bool {
	return t.scale.Swap(math.Float32bits(f)) != math.Float32bits(f)
}

// scaleFor is the size factor for a window of size s: 1 up to about 1600 units wide, then
// growing with the window while everything a screen needs at 1024×768 still fits (the factor
// never exceeds 96% of what would fill the window), in steps of 0.05 so that a resize by a
// few pixels does not re-lay the whole window.
func scaleFor(s fyne.Size) float32 {
	if s.Width < 1600 || s.Height < 900 {
		return 1
	}
	f := min(s.Width/1024, s.Height/768) * 0.96
	f = float32(math.Floor(float64(f)*20) / 20)
	return max(1, min(f, 3))
}

// Color implements fyne.Theme.
func (t *roomTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameFocus {
		return focusAmber
	}
	return t.base.Color(n, v)
}

// Font implements fyne.Theme.
func (t *roomTheme) Font(s fyne.TextStyle) fyne.Resource { return t.base.Font(s) }

// Icon implements fyne.Theme.
func (t *roomTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }

// Size implements fyne.Theme: the base size times the window's factor; an entry's border is
// at least 2 units, so the amber focus border of the entry being typed into is plain to see.
func (t *roomTheme) Size(n fyne.ThemeSizeName) float32 {
	s := t.base.Size(n)
	if n == theme.SizeNameInputBorder {
		s = max(s, 2)
	}
	return s * t.Factor()
}
