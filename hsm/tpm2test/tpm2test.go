// Package tpm2test gives tests a second, independent PKCS#11 implementation: tpm2-pkcs11 over
// a software TPM (swtpm). It starts swtpm on two loopback ports it picks, a private D-Bus and
// the TPM2 access broker (tpm2-abrmd, which swtpm needs: without a resource manager the TPM
// runs out of object slots after three transient objects), creates a tpm2-pkcs11 store and a
// token in temporary folders, and stops every process when the test ends.
//
// tpm2-pkcs11 reads its configuration (TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI) from the
// environment when the module is initialised, and a module is initialised once per process:
// Start sets the environment of the test process, so call it once per test binary (one
// top-level test with subtests) and open the module after it.
//
// When the tools are missing, Start fails the test; it skips only in a developer's -short run
// outside CI (the CI environment variable unset), and says what to install.
package tpm2test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Packages are the Debian packages the software TPM token needs (scripts/install-deps).
const Packages = "libtpm2-pkcs11-1 libtpm2-pkcs11-tools swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus"

// Token is a tpm2-pkcs11 token on a running software TPM.
type Token struct {
	Module  string // the tpm2-pkcs11 PKCS#11 library
	Label   string
	UserPIN string
	SOPIN   string
	Store   string // the tpm2-pkcs11 store (TPM2_PKCS11_STORE)
	TCTI    string // how tpm2-pkcs11 reaches the TPM

	dir       string
	env       []string
	swtpmTCTI string // how the access broker reaches swtpm
}

// Modules lists where Debian installs the tpm2-pkcs11 module.
func Modules() []string {
	m, _ := filepath.Glob("/usr/lib/*/pkcs11/libtpm2_pkcs11.so")
	return m
}

// Missing names the commands or the module that are not installed, or "" when all are.
func Missing() string {
	var miss []string
	for _, c := range []string{"swtpm", "tpm2-abrmd", "tpm2_ptool", "tpm2_getrandom", "dbus-daemon"} {
		if _, err := exec.LookPath(c); err != nil {
			miss = append(miss, c)
		}
	}
	if len(Modules()) == 0 {
		miss = append(miss, "libtpm2_pkcs11.so")
	}
	return strings.Join(miss, ", ")
}

// Start starts a software TPM with one initialised token labelled label and sets the test
// process's environment so that the tpm2-pkcs11 module, once opened, uses it. Everything is
// stopped and removed when t ends.
func Start(t testing.TB, label string) *Token {
	t.Helper()
	if miss := Missing(); miss != "" {
		msg := fmt.Sprintf("tpm2-pkcs11 over swtpm is needed for this test and %s is missing: run ./scripts/install-deps (Debian: apt-get install %s)", miss, Packages)
		if testing.Short() && os.Getenv("CI") == "" {
			t.Skip(msg + "; skipped in a -short run outside CI only")
		}
		t.Fatal(msg)
	}
	dir := os.Getenv("KR_KEEP")
	if dir == "" {
		dir = t.TempDir()
	}
	tok := &Token{Module: Modules()[0], Label: label, UserPIN: randomPIN(), SOPIN: randomPIN(), Store: filepath.Join(dir, "store"), dir: dir}
	for _, d := range []string{tok.Store, filepath.Join(dir, "tpm")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tok.startTPM(t)
	bus := tok.startBus(t)
	name := fmt.Sprintf("org.keyrite.Tabrmd.p%d", os.Getpid())
	tok.TCTI = "tabrmd:bus_type=session,bus_name=" + name
	tok.env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "TPM2TOOLS_TCTI="+tok.TCTI, "TPM2_PKCS11_TCTI="+tok.TCTI,
		"TPM2_PKCS11_STORE="+tok.Store, "TSS2_LOG=all+NONE")
	abrmd := tok.command("tpm2-abrmd", "--session", "--allow-root", "--flush-all", "--dbus-name="+name, "--tcti="+tok.swtpmTCTI)
	tok.start(t, abrmd)
	tok.waitReady(t)
	tok.run(t, "tpm2_ptool", "init")
	tok.run(t, "tpm2_ptool", "addtoken", "--pid=1", "--label="+label, "--sopin="+tok.SOPIN, "--userpin="+tok.UserPIN)
	for _, kv := range [][2]string{{"DBUS_SESSION_BUS_ADDRESS", bus}, {"TPM2_PKCS11_TCTI", tok.TCTI}, {"TPM2_PKCS11_STORE", tok.Store},
		{"TSS2_LOG", "all+NONE"}, {"TPM2_PKCS11_LOG_LEVEL", "0"}} {
		t.Setenv(kv[0], kv[1])
	}
	return tok
}

// AddToken adds another token to the same TPM (for ceremonies that need two).
func (tok *Token) AddToken(t testing.TB, label string) {
	t.Helper()
	tok.run(t, "tpm2_ptool", "addtoken", "--pid=1", "--label="+label, "--sopin="+tok.SOPIN, "--userpin="+tok.UserPIN)
}

// startTPM starts swtpm on two consecutive loopback ports (the swtpm TCTI expects the
// control channel one above the command channel), both found free just before.
func (tok *Token) startTPM(t testing.TB) {
	t.Helper()
	port := 0
	for i := 0; i < 50 && port == 0; i++ {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if c, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1}); err == nil {
			c.Close()
			port = p
		}
		l.Close()
	}
	if port == 0 {
		t.Fatal("no two consecutive free loopback ports for swtpm")
	}
	tok.swtpmTCTI = fmt.Sprintf("swtpm:host=127.0.0.1,port=%d", port)
	tok.start(t, exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+filepath.Join(tok.dir, "tpm"),
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port), "--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
		"--flags", "not-need-init,startup-clear", "--log", "file="+filepath.Join(tok.dir, "swtpm.log")))
	// Wait until swtpm listens, so the access broker finds it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not listen on 127.0.0.1:%d within 10 s: %v", port+1, err)
		}
	}
}

// startBus starts a private D-Bus session bus for the access broker and returns its address.
func (tok *Token) startBus(t testing.TB) string {
	t.Helper()
	conf := filepath.Join(tok.dir, "dbus.conf")
	sock := filepath.Join(tok.dir, "bus")
	text := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=` + sock + `</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/><allow user="*"/></policy></busconfig>
`
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tok.start(t, c)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start within 10 s")
	}
	return ""
}

func (tok *Token) command(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = tok.env
	return c
}

// start starts c and stops it (SIGTERM, then SIGKILL) when the test ends.
func (tok *Token) start(t testing.TB, c *exec.Cmd) {
	t.Helper()
	if c.Stderr == nil {
		f, err := os.Create(filepath.Join(tok.dir, filepath.Base(c.Path)+".stderr"))
		if err != nil {
			t.Fatal(err)
		}
		c.Stderr = f
		defer f.Close()
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Path, err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	t.Cleanup(func() {
		c.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-done
		}
	})
}

// waitReady waits until the access broker answers on the bus.
func (tok *Token) waitReady(t testing.TB) {
	t.Helper()
	var out []byte
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out, err = tok.command("tpm2_getrandom", "--hex", "8").CombinedOutput(); err == nil {
			return
		}
	}
	t.Fatalf("the software TPM did not answer through tpm2-abrmd within 15 s: %v: %s", err, out)
}

func (tok *Token) run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := tok.command(name, args...).CombinedOutput(); err != nil {
		// The PINs are test values, but keep them out of logs all the same.
		msg := strings.NewReplacer(tok.UserPIN, "<user PIN>", tok.SOPIN, "<SO PIN>").Replace(string(out))
		t.Fatalf("%s %s: %v\n%s", name, args[0], err, msg)
	}
}

func randomPIN() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
