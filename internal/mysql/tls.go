package mysql

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSMode says how connections use TLS.
type TLSMode string

// The modes, as MySQLCluster's spec.tls.mode names them.
const (
	TLSRequired   TLSMode = "Required"
	TLSVerifyCA   TLSMode = "VerifyCA"
	TLSVerifyFull TLSMode = "VerifyFull"
)

// TLS is a cluster's TLS settings, with the certificates' PEM contents.
type TLS struct {
	Mode TLSMode
	// CA is the PEM of the CA that signs the servers' certificates.
	CA []byte
	// ClientCert and ClientKey are a PEM certificate and key to present, if the server asks.
	ClientCert, ClientKey []byte
	// ServerName overrides the host name the certificate is verified against.
	ServerName string
}

// config builds the tls.Config for one endpoint.
func (t *TLS) config(host string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(t.ClientCert) > 0 {
		pair, err := tls.X509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	var roots *x509.CertPool
	if len(t.CA) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(t.CA) {
			return nil, errors.New("TLS CA: no PEM certificate found")
		}
	}
	switch t.Mode {
	case TLSRequired:
		c.InsecureSkipVerify = true
	case TLSVerifyCA:
		if roots == nil {
			return nil, errors.New("TLS mode VerifyCA needs a CA")
		}
		// Checked by hand below: the chain, not the name.
		c.InsecureSkipVerify = true
		c.VerifyConnection = verifyChain(roots)
	case TLSVerifyFull, "":
		if roots == nil {
			return nil, errors.New("TLS mode VerifyFull needs a CA")
		}
		c.RootCAs = roots
		c.ServerName = host
		if t.ServerName != "" {
			c.ServerName = t.ServerName
		}
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", t.Mode)
	}
	return c, nil
}

// verifyChain checks that the server's certificate chains to roots, whatever name it carries. It
// runs as VerifyConnection, which (unlike VerifyPeerCertificate) also runs on resumed sessions.
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		intermediates := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
		return err
	}
}
