package reports

// ChangeTemplateForTest changes the report's template (its title) and the renderer version, as
// a later Keyrite would, until the returned function restores them.
func ChangeTemplateForTest(title, version string) (restore func()) {
	oldTitle, oldVersion := reportTitle, rendererVersion
	reportTitle, rendererVersion = title, version
	return func() { reportTitle, rendererVersion = oldTitle, oldVersion }
}
