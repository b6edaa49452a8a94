package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/livepeer/go-livepeer/core"
	"github.com/livepeer/go-livepeer/net"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/livepeer/lpms/ffmpeg"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/internal/realnode"
)

// The checks below play a broadcaster by hand, with go-livepeer's own
// types, to send what a well-behaved go-livepeer broadcaster never sends.

// orchestratorInfo asks the orchestrator at service for a session, as
// go-livepeer's broadcaster does (server.genOrchestratorReq).
func orchestratorInfo(ctx context.Context, service string, key *ecdsa.PrivateKey) (*net.OrchestratorInfo, error) {
	conn, err := grpc.NewClient(service, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	sig, err := ethSign(key, crypto.Keccak256([]byte(addr.Hex()))) // go-livepeer's broadcaster signs the hash
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return net.NewOrchestratorClient(conn).GetOrchestrator(ctx, &net.OrchestratorRequest{Address: addr.Bytes(), Sig: sig})
}

// ethSign signs an EIP-191 message, v = 27 or 28, as go-livepeer does.
func ethSign(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	sig, err := crypto.Sign(accounts.TextHash(msg), key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}

// paidSegment posts one segment asking for archiving with one ticket made
// from info's ticket parameters, and returns the HTTP status and body.
func paidSegment(ctx context.Context, t *testing.T, info *net.OrchestratorInfo, key *ecdsa.PrivateKey, manifestID string, data []byte) (int, string) {
	t.Helper()
	sender := crypto.PubkeyToAddress(key.PublicKey)
	tp := info.GetTicketParams()
	params := &pm.TicketParams{
		Recipient:         common.BytesToAddress(tp.GetRecipient()),
		FaceValue:         new(big.Int).SetBytes(tp.GetFaceValue()),
		WinProb:           new(big.Int).SetBytes(tp.GetWinProb()),
		RecipientRandHash: common.BytesToHash(tp.GetRecipientRandHash()),
		Seed:              new(big.Int).SetBytes(tp.GetSeed()),
		ExpirationBlock:   new(big.Int).SetBytes(tp.GetExpirationBlock()),
	}
	exp := &pm.TicketExpirationParams{
		CreationRound:          tp.GetExpirationParams().GetCreationRound(),
		CreationRoundBlockHash: common.BytesToHash(tp.GetExpirationParams().GetCreationRoundBlockHash()),
	}
	ticket := pm.NewTicket(params, exp, sender, 1)
	sig, err := ethSign(key, ticket.Hash().Bytes())
	require.NoError(t, err)
	payment := &net.Payment{TicketParams: tp, Sender: sender.Bytes(), ExpirationParams: tp.GetExpirationParams(),
		TicketSenderParams: []*net.TicketSenderParams{{SenderNonce: 1, Sig: sig}}, ExpectedPrice: info.GetPriceInfo()}

	md := &core.SegTranscodingMetadata{ManifestID: core.ManifestID(manifestID), Seq: 0, Hash: crypto.Keccak256Hash(data),
		Profiles: []ffmpeg.VideoProfile{ffmpeg.P144p30fps16x9}, AuthToken: info.GetAuthToken(), Caps: core.CapabilitiesFromNetCapabilities(info.GetCapabilities())}
	sd, err := core.NetSegData(md)
	require.NoError(t, err)
	sd.Sig, err = ethSign(key, crypto.Keccak256(md.Flatten()))
	require.NoError(t, err)
	segHeader, err := proto.Marshal(sd)
	require.NoError(t, err)
	payHeader, err := proto.Marshal(payment)
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, info.GetTranscoder()+"/segment", bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Livepeer-Segment", base64.StdEncoding.EncodeToString(segHeader))
	req.Header.Set("Livepeer-Payment", base64.StdEncoding.EncodeToString(payHeader))
	req.Header.Set("Content-Type", "video/MP2T")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}

// checkTicketRefusals: the archiving orchestrator refuses bad tickets as
// go-livepeer does, before transcoding or archiving anything: a ticket
// made from parameters past their expiration block, and a broadcaster
// with no deposit (go-livepeer gives it no ticket parameters at all).
// info is the funded broadcaster's, asked for long enough ago that its
// parameters (10 blocks) have expired, or soon will.
func checkTicketRefusals(ctx context.Context, t *testing.T, service, orchCLI string, client *ethclient.Client,
	funded *ecdsa.PrivateKey, info *net.OrchestratorInfo) {
	t.Helper()
	expiry := new(big.Int).SetBytes(info.GetTicketParams().GetExpirationBlock()).Uint64()
	require.Eventually(t, func() bool {
		n, err := client.BlockNumber(ctx)
		return err == nil && n > expiry+1
	}, time.Minute, time.Second, "block %d passes", expiry)
	const expired = "expiredParams"
	code, body := paidSegment(ctx, t, info, funded, expired, []byte("not even video: refused before it is read"))
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, pm.ErrTicketParamsExpired.Error())
	_, status, _ := realnode.Status(ctx, orchCLI, expired)
	require.Equal(t, http.StatusNotFound, status, "nothing archived")

	stranger, err := crypto.GenerateKey()
	require.NoError(t, err)
	_, err = orchestratorInfo(ctx, service, stranger)
	require.Error(t, err, "no deposit, no ticket parameters")
	require.Contains(t, err.Error(), "reserve", "go-livepeer's refusal: %v", err)
	t.Logf("refused: expired ticket parameters (%q), unknown sender (%v)", body, err)
}
