// Command keyrite runs HSM key ceremonies: with no arguments it opens the desktop app, with a
// subcommand it runs headless (see `keyrite help`).
package main

import (
	_ "embed"
	"os"

	"github.com/keyrite/keyrite/app"
	"github.com/keyrite/keyrite/cli"
)

var (
	//go:embed testdata/root-ceremony.yaml
	exampleRoot []byte
	//go:embed testdata/root-quorum-ceremony.yaml
	exampleQuorum []byte
	//go:embed testdata/restore-ceremony.yaml
	exampleRestore []byte
	//go:embed testdata/region-root-ceremony.yaml
	exampleRegionRoot []byte
	//go:embed testdata/import-job-ceremony.yaml
	exampleImportJob []byte
	//go:embed testdata/export-ceremony.yaml
	exampleExport []byte
	//go:embed testdata/import-ceremony.yaml
	exampleImport []byte
	//go:embed testdata/migrate-ceremony.yaml
	exampleMigrate []byte
	//go:embed testdata/sign-intermediate-ceremony.yaml
	exampleIntermediate []byte
	//go:embed testdata/sign-crl-ceremony.yaml
	exampleCRL []byte
	//go:embed testdata/destroy-ceremony.yaml
	exampleDestroy []byte
	//go:embed testdata/rotate-ceremony.yaml
	exampleRotate []byte
)

func main() {
	examples := map[string][]byte{"root": exampleRoot, "root-quorum": exampleQuorum, "restore": exampleRestore,
		"region-root": exampleRegionRoot, "import-job": exampleImportJob, "export": exampleExport, "import": exampleImport, "migrate": exampleMigrate,
		"sign-intermediate": exampleIntermediate, "sign-crl": exampleCRL, "destroy": exampleDestroy,
		"rotate": exampleRotate}
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Examples: examples,
		GUI: func() error { return app.Run(examples) },
	}))
}
