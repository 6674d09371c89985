// Command webhook-floor is the floor of the webhook load test: a TLS server
// with the webhook's TLS and HTTP settings that reads each request body and
// returns a fixed response (one the webhook gave, of the same size). Its
// throughput and CPU per request are what the network, TLS and net/http
// cost; whatever the webhook costs above that is its own.
//
//	webhook-floor -addr 127.0.0.1:9443 -cert tls.crt -key tls.key -response response.json
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9443", "listen address")
	certFile := flag.String("cert", "", "serving certificate (PEM)")
	keyFile := flag.String("key", "", "serving key (PEM)")
	respFile := flag.String("response", "", "the fixed response body")
	flag.Parse()
	resp, err := os.ReadFile(*respFile)
	if err != nil {
		fail(err)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fail(err)
	}
	srv := &http.Server{
		Addr: *addr,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(resp)
		}),
		// as the webhook: TLS 1.2+, HTTP/1.1 only, the same timeouts
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fail(srv.ListenAndServeTLS("", ""))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "webhook-floor:", err)
	os.Exit(1)
}
