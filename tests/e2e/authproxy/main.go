// authproxy: a GOPROXY over HTTPS on a loopback address that answers only requests with the
// right basic-auth credentials, for tests/e2e (private modules through an authenticated proxy).
//
//	authproxy -root DIR -user U -password P -cert CA.pem -addr-file ADDR [-timeout 10m]
//
// It serves the files of DIR (a GOPROXY tree: <module>/@v/list, .info, .mod, .zip), listens on
// 127.0.0.1 on a free port, writes its self-signed certificate to -cert (for SSL_CERT_FILE) and
// then "127.0.0.1:PORT" to -addr-file, logs one line per request (path, status) to stderr, and
// exits by itself after -timeout. Only loopback: it never listens elsewhere.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	root := flag.String("root", "", "GOPROXY directory to serve")
	user := flag.String("user", "", "basic-auth user")
	password := flag.String("password", "", "basic-auth password")
	certFile := flag.String("cert", "", "where to write the server's certificate (PEM)")
	addrFile := flag.String("addr-file", "", "where to write the listening address, once ready")
	timeout := flag.Duration("timeout", 10*time.Minute, "exit after this long")
	flag.Parse()
	if *root == "" || *user == "" || *password == "" || *certFile == "" || *addrFile == "" {
		log.Fatal("authproxy: -root, -user, -password, -cert and -addr-file are required")
	}

	cert, certPEM, err := selfSigned()
	if err != nil {
		log.Fatalf("authproxy: making a certificate: %v", err)
	}
	if err := os.WriteFile(*certFile, certPEM, 0o644); err != nil {
		log.Fatalf("authproxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("authproxy: %v", err)
	}
	files := http.FileServer(http.Dir(*root))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(*user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(*password)) != 1 {
			log.Printf("authproxy: %s %s: 401 (credentials: %v)", r.Method, r.URL.Path, ok)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("authproxy: credentials required\n"))
			return
		}
		log.Printf("authproxy: %s %s: authorized", r.Method, r.URL.Path)
		files.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	time.AfterFunc(*timeout, func() {
		log.Printf("authproxy: %v passed, exiting", *timeout)
		os.Exit(0)
	})
	if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
		log.Fatalf("authproxy: %v", err)
	}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}

// selfSigned makes a certificate for 127.0.0.1 that is its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "godrv authproxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
