package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/lpcaps"
	"github.com/lpswarm/archiver/internal/lpwire"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// maxSegmentBody bounds a segment upload, as go-livepeer's common.MaxSegSize.
const maxSegmentBody = 48 << 20

// GetOrchestrator answers discovery as server/rpc.go getOrchestrator: the
// request is the broadcaster's address signed by itself; the reply opens a
// session (auth token) with ticket params, price, capabilities and, as an
// unknown field, the archive offer.
func (o *Orchestrator) GetOrchestrator(_ context.Context, req *lpnet.OrchestratorRequest) (*lpnet.OrchestratorInfo, error) {
	sender := common.BytesToAddress(req.GetAddress())
	if !lpwire.VerifyMessage(sender, []byte(sender.Hex()), req.GetSig()) {
		return nil, fmt.Errorf("Invalid orchestrator request: orchestrator req sig check failed")
	}
	session := newSessionID()
	info, err := o.orchestratorInfo(sender, session)
	if err != nil {
		return nil, err
	}
	if err := archiverpb.SetOffer(info, o.dec.Offer(sender, archiver.ManifestID(session))); err != nil {
		return nil, err
	}
	return info, nil
}

// serveSegment is server/segment_rpc.go ServeSegment, in its order: payment
// (402), segment credentials (403), ProcessPayment (400), balance (402),
// body and hash, transcode, DebitFees, reply. The archive receipts ride in
// the reply as an unknown field.
func (o *Orchestrator) serveSegment(w http.ResponseWriter, r *http.Request) {
	payment, err := lpwire.DecodePaymentHeader(r.Header.Get(lpwire.PaymentHeader))
	if err != nil {
		http.Error(w, err.Error(), http.StatusPaymentRequired)
		return
	}
	sender := lpwire.PaymentSender(payment)
	sd, err := lpwire.DecodeSegHeader(r.Header.Get(lpwire.SegmentHeader))
	var meta lpwire.SegMeta
	if err == nil {
		meta, err = lpwire.VerifySegCreds(sd, sender)
	}
	if err == nil {
		err = o.checkToken(meta.AuthToken)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	session := archiver.ManifestID(meta.AuthToken.GetSessionId())
	if !o.compatible(meta.Capabilities) {
		http.Error(w, "capabilities mismatch", http.StatusBadRequest)
		return
	}
	if err := o.dec.ProcessPayment(r.Context(), payment, session); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if payment.GetExpectedPrice().GetPricePerUnit() > 0 && !o.dec.SufficientBalance(sender, session) {
		http.Error(w, "Insufficient balance", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSegmentBody+1))
	if err == nil && len(body) > maxSegmentBody {
		err = fmt.Errorf("segment larger than %d bytes", maxSegmentBody)
	}
	if err == nil {
		err = lpwire.VerifyBody(meta, body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	res, err := o.transcode(r.Context(), sender, meta, body, payment.GetExpectedPrice())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := proto.Marshal(res)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd+livepeer.uri")
	_, _ = w.Write(out)
}

// transcode runs the decorated TranscodeSeg, publishes the renditions for
// download, debits the transcode fee and builds the reply.
func (o *Orchestrator) transcode(ctx context.Context, sender common.Address, meta lpwire.SegMeta, body []byte, price *lpnet.PriceInfo) (*lpnet.TranscodeResult, error) {
	session := meta.AuthToken.GetSessionId()
	names := make([]string, len(meta.Profiles))
	for i, p := range meta.Profiles {
		names[i] = p.Name
	}
	md := &orchestrator.SegTranscodingMetadata{ManifestID: archiver.ManifestID(meta.ManifestID), Seq: meta.Seq, Hash: meta.Hash,
		Duration: meta.Duration, Caps: meta.Capabilities, Profiles: names, AuthToken: meta.AuthToken}
	tr, err := o.dec.TranscodeSeg(ctx, md, &orchestrator.HLSSegment{SeqNo: uint64(meta.Seq), Data: body, Duration: meta.Duration.Seconds()})
	info, ierr := o.orchestratorInfo(sender, session)
	if ierr != nil {
		return nil, ierr
	}
	if err == nil && tr.Err != nil {
		err = tr.Err
	}
	if err != nil {
		return lpwire.ErrorTranscodeResult(meta.Seq, err.Error(), info), nil
	}
	var rends []lpwire.Rendition
	var pixels int64
	o.mu.Lock()
	for i, s := range tr.TranscodeData.Segments {
		key := renditionKey(session, names[i], meta.Seq)
		o.renditions[key] = s.Data
		rends = append(rends, lpwire.Rendition{URL: o.HTTPURL + "/stream/" + key, Pixels: s.Pixels, Data: s.Data})
		pixels += s.Pixels
	}
	o.mu.Unlock()
	o.dec.DebitFees(sender, archiver.ManifestID(session), price, pixels)
	res, err := lpwire.BuildTranscodeResult(o.key, meta.Seq, rends, info)
	if err != nil {
		return nil, err
	}
	if err := archiverpb.SetReceipts(res, o.dec.TakeReceipts(archiver.ManifestID(session))); err != nil {
		return nil, err
	}
	return res, nil
}

func (o *Orchestrator) serveRendition(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	data, ok := o.renditions[strings.TrimPrefix(r.URL.Path, "/stream/")]
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "video/mp2t")
	_, _ = w.Write(data)
}

// checkToken checks an auth token this orchestrator issued, as
// verifySegCreds does (server/segment_rpc.go:376-385): its HMAC, then its
// expiry, with go-livepeer's messages.
func (o *Orchestrator) checkToken(t *lpnet.AuthToken) error {
	if want := o.authToken(t.GetSessionId(), t.GetExpiration()); !hmac.Equal(want.Token, t.GetToken()) {
		return errors.New("invalid auth token")
	}
	if time.Now().After(time.Unix(t.GetExpiration(), 0)) {
		return errors.New("expired auth token")
	}
	return nil
}

// compatible refuses a segment requesting capabilities not advertised,
// as go-livepeer does (so the Archive bit only reaches an orchestrator
// that offers it).
func (o *Orchestrator) compatible(seg *lpnet.Capabilities) bool {
	return lpcaps.Compatible(o.dec.Capabilities(), seg)
}

// SelfSigned makes a TLS certificate for 127.0.0.1, as go-livepeer
// orchestrators present, and its pin (hex SHA-256 of the DER certificate).
func SelfSigned() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orchestrator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	pin := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(pin[:]), nil
}
