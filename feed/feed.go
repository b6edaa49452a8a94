package feed

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// TopicPrefix separates this project's topics from anyone else's.
const TopicPrefix = "lpswarm-archiver/stream-feed/v1:"

// payloadSize is bee's v1 update payload: timestamp (8) | reference (32).
const payloadSize = 8 + swarm.HashSize

// Sentinel errors callers can test with errors.Is.
var (
	// ErrWrongSigner: an update's signature is not the claimed owner's.
	ErrWrongSigner = errors.New("feed update not signed by the feed's owner")
	// ErrWrongReference: an update points at another manifest than the
	// one it accompanies.
	ErrWrongReference = errors.New("feed update points at another manifest")
	// ErrMalformed: an update's fields have the wrong sizes.
	ErrMalformed = errors.New("malformed feed update")
)

// Topic names a feed of one owner.
type Topic [32]byte

func (t Topic) String() string { return hex.EncodeToString(t[:]) }

// StreamTopic is the topic of a stream's feed: keccak256(TopicPrefix |
// sender | manifest id).
func StreamTopic(sender common.Address, manifestID string) Topic {
	return Topic(keccak([]byte(TopicPrefix), sender[:], []byte(manifestID)))
}

// ID is the single-owner chunk id of update index of a sequence feed:
// keccak256(topic | index as 8 bytes big endian).
func ID(topic Topic, index uint64) [32]byte {
	return keccak(topic[:], binary.BigEndian.AppendUint64(nil, index))
}

// Address is where update index of owner's feed is stored: keccak256(id |
// owner).
func Address(owner common.Address, topic Topic, index uint64) swarm.Address {
	id := ID(topic, index)
	a := keccak(id[:], owner[:])
	return swarm.NewAddress(a[:])
}

func keccak(parts ...[]byte) [32]byte {
	h := swarm.NewHasher() // legacy Keccak-256, as bee and Ethereum use
	for _, p := range parts {
		_, _ = h.Write(p)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Signer signs feed updates with the feed owner's key. go-livepeer's
// account manager signs the same way (Sign(msg) over accounts.TextHash), so
// an orchestrator can hand its Ethereum account in through an adapter.
type Signer interface {
	// Address is the owner's Ethereum address.
	Address() common.Address
	// Sign signs msg as an Ethereum signed message (EIP-191, "\x19Ethereum
	// Signed Message:\n" | len | msg) and returns r | s | v, v = 27 or 28.
	Sign(msg []byte) ([]byte, error)
}

// KeySigner signs with a private key held in memory.
func KeySigner(key *ecdsa.PrivateKey) Signer {
	return keySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

type keySigner struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

func (k keySigner) Address() common.Address { return k.addr }

func (k keySigner) Sign(msg []byte) ([]byte, error) {
	sig, err := crypto.Sign(accounts.TextHash(msg), k.key)
	if err != nil {
		return nil, fmt.Errorf("feed: sign: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// Update is one signed update of a sequence feed: everything Bee's
// POST /soc/{owner}/{id}?sig= needs, and what a publish job carries.
type Update struct {
	Owner     common.Address
	Topic     Topic
	Index     uint64
	Signature []byte // 65 bytes, r | s | v
	Payload   []byte // bee's v1 payload: Unix seconds (8, big endian) | manifest reference
}

// NewUpdate signs update index of the feed (signer's address, topic),
// pointing at ref. The signature is checked before it is returned: a
// signer that signs with another key than its address is ErrWrongSigner.
func NewUpdate(s Signer, topic Topic, index uint64, ref swarm.Address, at time.Time) (Update, error) {
	if len(ref.Bytes()) != swarm.HashSize {
		return Update{}, fmt.Errorf("feed: %w: reference of %d bytes", ErrMalformed, len(ref.Bytes()))
	}
	payload := binary.BigEndian.AppendUint64(make([]byte, 0, payloadSize), uint64(max(at.Unix(), 0)))
	u := Update{Owner: s.Address(), Topic: topic, Index: index, Payload: append(payload, ref.Bytes()...)}
	digest, err := u.digest()
	if err != nil {
		return Update{}, err
	}
	if u.Signature, err = s.Sign(digest); err != nil {
		return Update{}, fmt.Errorf("feed: sign update %d: %w", index, err)
	}
	if err := u.Verify(); err != nil {
		return Update{}, err
	}
	return u, nil
}

// wrapped is the content-addressed chunk the update carries.
func (u Update) wrapped() (swarm.Chunk, error) {
	if len(u.Payload) != payloadSize {
		return nil, fmt.Errorf("feed: %w: payload of %d bytes, want %d", ErrMalformed, len(u.Payload), payloadSize)
	}
	ch, err := cac.New(u.Payload)
	if err != nil {
		return nil, fmt.Errorf("feed: %w: %w", ErrMalformed, err)
	}
	return ch, nil
}

// digest is what the owner signs: keccak256(id | wrapped chunk address).
func (u Update) digest() ([]byte, error) {
	ch, err := u.wrapped()
	if err != nil {
		return nil, err
	}
	id := u.ID()
	d := keccak(id[:], ch.Address().Bytes())
	return d[:], nil
}

// ID is the update's single-owner chunk id.
func (u Update) ID() [32]byte { return ID(u.Topic, u.Index) }

// Address is the update's chunk address.
func (u Update) Address() swarm.Address { return Address(u.Owner, u.Topic, u.Index) }

// Reference is the manifest the update points at.
func (u Update) Reference() (swarm.Address, error) {
	if len(u.Payload) != payloadSize {
		return swarm.ZeroAddress, fmt.Errorf("feed: %w: payload of %d bytes, want %d", ErrMalformed, len(u.Payload), payloadSize)
	}
	return swarm.NewAddress(bytes.Clone(u.Payload[8:])), nil
}

// Chunk is the update as a single-owner chunk: id | signature | span |
// payload at keccak256(id | owner).
func (u Update) Chunk() (swarm.Chunk, error) {
	ch, err := u.wrapped()
	if err != nil {
		return nil, err
	}
	id := u.ID()
	s, err := soc.NewSigned(id[:], ch, u.Owner.Bytes(), u.Signature)
	if err != nil {
		return nil, fmt.Errorf("feed: %w: %w", ErrMalformed, err)
	}
	return s.Chunk()
}

// Verify checks the update is well formed and signed by its owner, with
// bee's own recovery (soc.FromChunk), as Bee checks it on upload.
func (u Update) Verify() error {
	if len(u.Signature) != swarm.SocSignatureSize {
		return fmt.Errorf("feed: %w: signature of %d bytes", ErrMalformed, len(u.Signature))
	}
	ch, err := u.Chunk()
	if err != nil {
		return err
	}
	s, err := soc.FromChunk(ch)
	if err != nil {
		return fmt.Errorf("feed: %w: signature does not recover: %w", ErrWrongSigner, err)
	}
	if signer := common.BytesToAddress(s.OwnerAddress()); signer != u.Owner {
		return fmt.Errorf("feed: update %d of %s: %w: signed by %s, owner is %s", u.Index, u.Topic, ErrWrongSigner, signer.Hex(), u.Owner.Hex())
	}
	return nil
}
