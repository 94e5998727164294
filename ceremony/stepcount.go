package ceremony

// StepTitles lists the titles of the steps a ceremony of this script runs, in order: what a UI
// counts as "step N of M" (the engine's Screen.Number and Total count the same steps).
func (s *Script) StepTitles() []string {
	steps := typeOf(s.Type).steps(s)
	titles := make([]string, len(steps))
	for i, st := range steps {
		titles[i] = st.title
	}
	return titles
}
