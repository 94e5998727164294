package reports

import "testing"

// Warm makes one document, which the next newDocument takes; after that documents are new.
func TestWarmMakesOneDocument(t *testing.T) {
	if warmed() != nil {
		t.Fatal("a warmed document exists before Warm")
	}
	Warm()
	Warm()
	if d := warmed(); d == nil || d.Err() {
		t.Fatalf("Warm made no usable document (%v)", d)
	}
	if warmed() != nil {
		t.Fatal("Warm made a second document, or the first was not taken")
	}
}
