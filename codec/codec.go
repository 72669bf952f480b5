package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of a sealed payload.
const (
	MetadataEncoding = "encoding"
	MetadataKeyID    = "encryption-key-id"
	MetadataCipher   = "encryption-cipher"

	// Encoding marks a sealed payload; its data is the nonce followed by the
	// sealed original payload (metadata and data, as protobuf).
	Encoding = "binary/encrypted"
	// Cipher names the algorithm.
	Cipher = "AES256-GCM"
)

// ErrUnknownKey means a payload was sealed with a key the keyring lacks.
var ErrUnknownKey = errors.New("payload sealed with a key this keyring does not have")

// Codec seals and opens payloads with a keyring. It implements
// converter.PayloadCodec.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New is a codec over keys.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// DataConverter is Temporal's default data converter with every payload
// sealed by keys: give it to every client and worker.
func DataConverter(keys *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
}

// Encode seals each payload with the newest key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.Current()
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, errors.New("codec: the keyring is empty")
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: draw a nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(id), MetadataCipher: []byte(Cipher)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode opens each sealed payload; a payload that was never sealed (one
// written before the codec, or by a tool without it) passes unchanged. A
// payload sealed with a key the keyring lacks is an error naming the key.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: %w: key id %q (known: %v)", ErrUnknownKey, id, c.keys.IDs())
		}
		if cipherName := string(p.GetMetadata()[MetadataCipher]); cipherName != Cipher {
			return nil, fmt.Errorf("codec: payload sealed with %q, not %s", cipherName, Cipher)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: sealed payload (key %q) is too short", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: open payload sealed with key %q: %w", id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: unmarshal payload (key %q): %w", id, err)
		}
		out[i] = &orig
	}
	return out, nil
}
