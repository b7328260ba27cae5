package events_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/schemas"
)

// The same paths as the embedded tests, against a separately started
// nats-server process: the binary named by TALLY_NATS_SERVER, or else one
// built from the nats-server module this repository depends on (go build
// works offline from the module cache).

var (
	natsBinOnce sync.Once
	natsBin     string
	natsBinErr  error
	natsBinDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if natsBinDir != "" {
		os.RemoveAll(natsBinDir)
	}
	os.Exit(code)
}

// natsServerBinary returns a nats-server binary, or skips the test saying
// why there is none.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsBinOnce.Do(func() {
		if p := os.Getenv("TALLY_NATS_SERVER"); p != "" {
			natsBin = p
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			natsBinErr = fmt.Errorf("no go tool to build nats-server with: %w", err)
			return
		}
		natsBinDir, err = os.MkdirTemp("", "tally-nats-server-")
		if err != nil {
			natsBinErr = err
			return
		}
		bin := filepath.Join(natsBinDir, "nats-server")
		cmd := exec.Command(goTool, "build", "-o", bin, "github.com/nats-io/nats-server/v2")
		if out, err := cmd.CombinedOutput(); err != nil {
			natsBinErr = fmt.Errorf("go build github.com/nats-io/nats-server/v2: %v\n%s", err, out)
			return
		}
		natsBin = bin
	})
	if natsBinErr != nil {
		t.Skipf("no nats-server binary (set TALLY_NATS_SERVER to one): %v", natsBinErr)
	}
	return natsBin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsProcess is a nats-server running as its own process.
type natsProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// startNATSProcess runs bin with JetStream on 127.0.0.1:port storing in
// dir, and waits until it accepts connections.
func startNATSProcess(t *testing.T, bin, dir string, port int, extra ...string) *natsProcess {
	t.Helper()
	args := append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir, "-n", "tally-test"}, extra...)
	cmd := exec.Command(bin, args...)
	if os.Getenv("TALLY_TEST_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	p := &natsProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("nats-server exited: %v", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server gracefully (SIGTERM), as an operator restarting it
// would, and waits for it to exit.
func (p *natsProcess) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func TestExternalServer(t *testing.T) {
	bin := natsServerBinary(t)
	dir, port := t.TempDir(), freePort(t)
	proc := startNATSProcess(t, bin, dir, port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc := connect(t, url)
	l := openLedger(t)
	runIngest(t, nc, lp(l), ingestOpts())

	t.Run("receipts", func(t *testing.T) {
		key := newKey(t)
		envs := make([]schemas.Envelope, 10)
		for i := range envs {
			envs[i], _ = signedParty(t, 1000+i, key)
		}
		submitAll(t, nc, envs, l.VerifierKey())
	})
	t.Run("restart mid-ingest", func(t *testing.T) {
		restartScenario(t, nc, l, 60, func() {
			proc.stop()
			proc = startNATSProcess(t, bin, dir, port)
		})
	})
}

func TestExternalServerAuth(t *testing.T) {
	bin := natsServerBinary(t)
	port := freePort(t)
	startNATSProcess(t, bin, t.TempDir(), port, "--user", "tally", "--pass", "s3cret")
	good := fmt.Sprintf("nats://tally:s3cret@127.0.0.1:%d", port)
	bad := fmt.Sprintf("nats://tally:wrong@127.0.0.1:%d", port)
	if _, err := events.Connect(events.ConnectOptions{URL: bad, Logger: testLogger()}); !errors.Is(err, events.ErrConnect) {
		t.Errorf("wrong password: got %v, want ErrConnect", err)
	}
	nc := connect(t, good)
	l := openLedger(t)
	runIngest(t, nc, lp(l), ingestOpts())
	env, _ := signedParty(t, 1, newKey(t))
	submitAll(t, nc, []schemas.Envelope{env}, l.VerifierKey())
}

// writeTLSFiles makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in dir.
func writeTLSFiles(t *testing.T, dir string) (ca, serverCert, serverKey, clientCert, clientKey string) {
	t.Helper()
	ecKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := ecKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tally test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := ecKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	ca = write("ca.pem", "CERTIFICATE", caDER)
	serverCert, serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return
}

// Mutual TLS with --nats-ca, --nats-cert and --nats-key.
func TestExternalServerTLS(t *testing.T) {
	bin := natsServerBinary(t)
	dir := t.TempDir()
	ca, sc, sk, cc, ck := writeTLSFiles(t, dir)
	port := freePort(t)
	startNATSProcess(t, bin, t.TempDir(), port, "--tlsverify", "--tlscert", sc, "--tlskey", sk, "--tlscacert", ca)
	url := fmt.Sprintf("tls://127.0.0.1:%d", port)
	if _, err := events.Connect(events.ConnectOptions{URL: url, CA: ca, Logger: testLogger()}); !errors.Is(err, events.ErrConnect) {
		t.Errorf("without a client certificate: got %v, want ErrConnect", err)
	}
	nc, err := events.Connect(events.ConnectOptions{URL: url, CA: ca, Cert: cc, Key: ck, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	l := openLedger(t)
	runIngest(t, nc, lp(l), ingestOpts())
	env, _ := signedParty(t, 1, newKey(t))
	submitAll(t, nc, []schemas.Envelope{env}, l.VerifierKey())
}
